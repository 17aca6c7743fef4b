"""``annotator salvage DIR -o NEW``: copy every readable row of a damaged project into a new
project (see :func:`annotator.core.salvage.salvage`); the damaged one is left as it was."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from annotator.commands.check import database_of
from annotator.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("salvage", help="copy every readable row of a damaged project into a "
                                       "new project")
    p.add_argument("project", type=Path, metavar="DIR")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="NEW",
                   help="the new project folder (must not exist yet)")
    p.set_defaults(func=cmd_salvage)


def cmd_salvage(args: argparse.Namespace) -> int:
    from annotator.core.project import DB_NAME, fsync_dir
    from annotator.core.salvage import salvage

    db, out = database_of(args.project), args.output.resolve()
    if out.exists():
        raise UserError(f"{out} already exists; name a new folder with -o")
    tmp = out.with_name(f".{out.name}.salvaging")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        report = salvage(db, tmp / DB_NAME)
        tmp.rename(out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for line in report.lines():
        print(line)
    print(f"new project: {out} (the damaged one is left as it was); if its video moved: "
          f"annotator relink {out} VIDEO")
    return 0
