"""``annotator`` command line. The GUI is the default sub-command (once it lands).

Exit status: 0 on success, 2 on bad input (one line naming the file and the problem),
1 only for a bug (with a traceback).
"""

from __future__ import annotations

import argparse
import sys

from annotator.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="annotator",
        description="Pixel masks of sounding objects in long, untrimmed videos.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from annotator import commands

    commands.register_all(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"annotator: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("annotator: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
