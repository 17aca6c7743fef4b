"""``annotator`` command line. The GUI is the default sub-command.

Exit status: 0 on success, 2 on bad input or a fault of the machine (a full disk, read-only
media, a permission, a damaged database: one line naming the file, what happened and what to
do, see :func:`annotator.errors.explain`), 1 only for a bug (its traceback goes to the log
file, whose name is printed, and to the terminal).

A command that runs a model has ``--device``; :func:`main` starts the process's engine registry
on it (:func:`annotator.engines.registry.start`: device, torch threads, allocator) before the
command runs, so a device the machine does not have is refused in one line, exit 2. The window
(``gui``, ``open``) starts it itself, with the preference as the default.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from annotator.errors import UserError, explain


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="annotator",
        description="Pixel masks of sounding objects in long, untrimmed videos.",
    )
    from annotator import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--as", dest="person", metavar="NAME", default=None,
                        help="who you are, recorded with every change, review and second of "
                             "active time (default: the person.name setting, else your login "
                             "name); also after any sub-command")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from annotator import commands

    commands.register_all(sub)
    return parser


def _path_means_open(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``annotator VIDEO`` or ``annotator PROJECT`` — what a person types first, and what a
    file manager runs — is ``annotator open PATH``: a first word that is no command but names
    a path (one that exists, or has a folder or an extension in it) is opened. A mistyped
    command (no such path) still gets argparse's list of commands."""
    if not argv or argv[0].startswith("-"):
        return argv
    commands = next(a.choices for a in parser._actions
                    if isinstance(a, argparse._SubParsersAction))
    word = argv[0]
    if word in commands:
        return argv
    if Path(word).exists() or "/" in word or os.sep in word or Path(word).suffix:
        return ["open", *argv]
    return argv


def _take_person(argv: list[str]) -> tuple[list[str], str | None]:
    """``--as NAME`` (or ``--as=NAME``) anywhere before a ``--``: taken out of ``argv`` (every
    sub-command knows it), the name returned."""
    out: list[str] = []
    name = None
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            out += argv[i:]
            break
        if word == "--as" and i + 1 < len(argv):
            name, i = argv[i + 1], i + 2
            continue
        if word.startswith("--as="):
            name = word[len("--as="):]
        else:
            out.append(word)
        i += 1
    return out, name


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    words, person = _take_person(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(_path_means_open(parser, words))
    args.person = person
    if args.command is None and argv is None:
        args = parser.parse_args(["gui"])  # no sub-command: the desktop window
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        if getattr(args, "runs_models", False) and not getattr(args, "gui_starts_engines", False):
            from annotator.engines import registry

            # process-wide settings (device, torch threads, allocator) once, before any model
            registry.start(getattr(args, "device", None),
                           precision=getattr(args, "precision", None), lazy=True,
                           segmenter=getattr(args, "segmenter", None))
            if getattr(args, "segmenter", None):  # its children (a cluster worker) too
                os.environ[registry.SEGMENTER_ENV] = args.segmenter
        else:  # a window starts its engines: it reads these
            if getattr(args, "precision", None):
                from annotator.engines.devices import PRECISION_ENV

                os.environ[PRECISION_ENV] = args.precision
            if getattr(args, "segmenter", None):
                os.environ["AVS_ANNOTATOR_SEGMENTER"] = args.segmenter
        from annotator.settings import acting_as

        with acting_as(args.person):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("annotator: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output went to a pipe that closed (| head): not a fault
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        user = _explain_chain(exc, _subject(args, exc))
        if user is not None:
            print(f"annotator: {_one_line(user)}", file=sys.stderr)
            return 2
        from annotator import logs  # a bug: its traceback goes to the log file, then up

        try:
            path = logs.report(exc, f"annotator {args.command}", stderr=False)
            logs.flush()
            print(f"annotator: this is a bug; its traceback is also in {path}: please report "
                  "it with that file", file=sys.stderr)
        except Exception:  # the log itself cannot be written (a full disk): the terminal only
            pass
        raise


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _explain_chain(exc: BaseException, subject: Path | None) -> UserError | None:
    """The user-facing reading of ``exc`` or of an exception it was raised from."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        user = explain(cur, subject)
        if user is not None:
            return user
        cur = cur.__cause__ or cur.__context__
    return None


def _subject(args: argparse.Namespace, exc: BaseException) -> Path | None:
    """The file a fault without a file name is about: the project's database for SQLite's
    errors, else the project (or the video) the command was given."""
    import sqlite3

    project = getattr(args, "project", None)
    projects = getattr(args, "projects", None)
    if project is None and isinstance(projects, list) and len(projects) == 1:
        project = projects[0]
    if isinstance(project, Path):
        if isinstance(exc, sqlite3.Error) or any(
                isinstance(e, sqlite3.Error) for e in (exc.__cause__, exc.__context__)):
            from annotator.core.project import DB_NAME

            return project / DB_NAME
        return project
    for name in ("video", "source", "output"):
        value = getattr(args, name, None)
        if isinstance(value, Path):
            return value
    return None


def run() -> None:
    """The ``annotator`` program: :func:`main`, then exit. Once torch is imported, Python's
    last collection at shutdown walks every object for about half a second; the process is
    ending anyway, so they are frozen first (``gc.freeze``: the shutdown skips them; exit
    handlers and files close as before). Not in :func:`main`, which tests call in-process."""
    status = main()
    import gc

    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":  # pragma: no cover
    run()
