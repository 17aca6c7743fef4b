"""``annotator check DIR`` and ``annotator salvage DIR -o NEW``: a damaged project's
diagnosis and the rescue of its readable rows (see :mod:`annotator.core.salvage`)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from annotator.errors import DamagedError, UserError


def register(sub) -> None:
    p = sub.add_parser("check", help="check a project's database (SQLite integrity and the "
                                     "store's own rules)")
    p.add_argument("project", type=Path, metavar="DIR")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("salvage", help="copy every readable row of a damaged project into a "
                                       "new project")
    p.add_argument("project", type=Path, metavar="DIR")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="NEW",
                   help="the new project folder (must not exist yet)")
    p.set_defaults(func=cmd_salvage)


def _db(directory: Path) -> Path:
    from annotator.core.project import DB_NAME

    db = directory / DB_NAME
    if not db.is_file():
        raise UserError(f"{directory} is not an AVS Annotator project (no {DB_NAME})")
    return db


def cmd_check(args: argparse.Namespace) -> int:
    from annotator.core.salvage import check

    db = _db(args.project)
    try:
        problems = check(db)
    except DamagedError as exc:
        problems = [str(exc)]
    if not problems:
        print(f"{db}: ok (SQLite integrity, foreign keys, every current mask decodes, "
              "revisions chain, anchors made by a person)")
        return 0
    for line in problems:
        print(f"{db}: {line}")
    raise DamagedError(f"{db}: {len(problems)} problem(s) found; 'annotator salvage "
                       f"{args.project} -o NEW' copies every readable row into a new project")


def cmd_salvage(args: argparse.Namespace) -> int:
    from annotator.core.project import DB_NAME, fsync_dir
    from annotator.core.salvage import salvage

    db, out = _db(args.project), args.output.resolve()
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
