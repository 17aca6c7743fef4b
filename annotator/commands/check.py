"""``annotator check DIR``: SQLite's integrity check and the store's own rules (see
:func:`annotator.core.salvage.check`); ``annotator salvage`` is its rescue."""

from __future__ import annotations

import argparse
from pathlib import Path

from annotator.errors import DamagedError, UserError


def register(sub) -> None:
    p = sub.add_parser("check", help="check a project's database (SQLite integrity and the "
                                     "store's own rules)")
    p.add_argument("project", type=Path, metavar="DIR")
    p.set_defaults(func=cmd_check)


def database_of(directory: Path) -> Path:
    from annotator.core.project import DB_NAME

    db = directory / DB_NAME
    if not db.is_file():
        raise UserError(f"{directory} is not an AVS Annotator project (no {DB_NAME})")
    return db


def cmd_check(args: argparse.Namespace) -> int:
    from annotator.core.salvage import check

    db = database_of(args.project)
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
