"""``annotator`` command line. The GUI is the default sub-command.

Exit status: 0 on success, 2 on bad input (one line naming the file and the problem),
1 only for a bug (with a traceback).

A command that runs a model has ``--device``; :func:`main` starts the process's engine registry
on it (:func:`annotator.engines.registry.start`: device, torch threads, allocator) before the
command runs, so a device the machine does not have is refused in one line, exit 2. The window
(``gui``, ``open``) starts it itself, with the preference as the default.
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
    from annotator import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from annotator import commands

    commands.register_all(sub)
    return parser


def _has_gui() -> bool:
    from annotator import commands

    return "gui" in commands.MODULES and commands.available("gui")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None and argv is None and _has_gui():
        args = parser.parse_args(["gui"])  # no sub-command: the desktop window
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        if getattr(args, "runs_models", False) and not getattr(args, "gui_starts_engines", False):
            from annotator.engines import registry

            # process-wide settings (device, torch threads, allocator) once, before any model
            registry.start(getattr(args, "device", None))
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"annotator: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("annotator: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: its traceback goes to the log file too, then up as before
        from annotator import logs

        path = logs.report(exc, f"annotator {args.command}", stderr=False)
        print(f"annotator: this is a bug; its traceback is also in {path}", file=sys.stderr)
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
