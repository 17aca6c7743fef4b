"""A dataset's vocabulary: categories with label ids, shared by every project of the dataset.

Imported from CSV (``label_id,label``) or JSON (a list of ``{"label_id", "label"}`` or COCO's
``{"id", "name"}``, ``{"categories": [...]}``, or ``{label: label_id}``); checked first, line
by line, and written in one transaction (a bad line imports nothing). A category that a
project's object uses and the vocabulary lacks is **proposed** — derived from the projects,
never stored against them — until someone accepts it (:func:`accept`: it gets the next free
label id, or the one given). :func:`rename` and :func:`merge` change a category in every
project of the dataset that uses it, each project's change one undoable operation through
the project's own history (``annotator.core.history``); the projects' locks are all taken
first, so a project open elsewhere stops the change before anything is written.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from annotator.core.dataset_summary import used_categories
from annotator.core.importers import ImportError_
from annotator.core.lock import ProjectLock, ProjectLockedError
from annotator.core.project import DB_NAME
from annotator.core.store import Store
from annotator.errors import UserError

MAX_LABEL = 200


@dataclass(frozen=True)
class Category:
    label: str
    label_id: int | None  # None while proposed
    state: str  # "accepted" or "proposed"
    videos: tuple[str, ...] = ()  # the videos whose objects use it


def read_vocabulary(path: str | Path) -> list[tuple[int, str]]:
    """``(label_id, label)`` of a vocabulary file, every problem named with its line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such vocabulary file; give a CSV with label_id,label "
                        "or a JSON list of {\"label_id\", \"label\"}")
    text = path.read_text(encoding="utf-8-sig")
    rows: list[tuple[int, object, object]] = []  # (line or entry, id, label)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ImportError_(path, [f"not valid JSON ({exc})"]) from None
        if isinstance(data, dict) and isinstance(data.get("categories"), list):
            data = data["categories"]
        if isinstance(data, dict):
            rows = [(k + 1, i, lab) for k, (lab, i) in enumerate(data.items())]
        elif isinstance(data, list) and all(isinstance(r, dict) for r in data):
            rows = [(k + 1, r.get("label_id", r.get("id")), r.get("label", r.get("name")))
                    for k, r in enumerate(data)]
        else:
            raise ImportError_(path, ["expected a list of {\"label_id\", \"label\"} (or COCO "
                                      "categories, or {label: label_id})"])
        entry = "entry"
    else:
        reader = csv.DictReader(text.splitlines())
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "label_id" not in fields or "label" not in fields:
            raise ImportError_(path, ["line 1: expected a header label_id,label"])
        for r in reader:
            r = {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()
                 if isinstance(k, str)}
            rows.append((reader.line_num, r.get("label_id"), r.get("label")))
        entry = "line"
    out, problems, ids, labels = [], [], {}, {}
    for line, raw_id, raw_label in rows:
        where = f"{entry} {line}"
        label = str(raw_label or "").strip()
        try:
            label_id = int(str(raw_id).strip())
            if label_id < 0 or str(raw_id).strip().lstrip("+") not in (str(label_id),):
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"{where}: label_id {str(raw_id)[:40]!r} is not a whole number "
                            "of 0 or more")
            continue
        if not label or len(label) > MAX_LABEL:
            problems.append(f"{where}: a label needs 1 to {MAX_LABEL} characters")
            continue
        if label_id in ids:
            problems.append(f"{where}: label_id {label_id} is also {entry} {ids[label_id]}'s")
            continue
        if label.casefold() in labels:
            problems.append(f"{where}: label {label!r} is also {entry} "
                            f"{labels[label.casefold()]}'s")
            continue
        ids[label_id], labels[label.casefold()] = line, line
        out.append((label_id, label))
    if problems:
        raise ImportError_(path, problems)
    if not out:
        raise ImportError_(path, ["no categories in it"])
    return out


def import_vocabulary(ds, path: str | Path) -> tuple[int, int]:
    """Add a vocabulary file's categories; returns ``(added, already there)``. A label or a
    label id the vocabulary holds for another category refuses the whole file."""
    rows = read_vocabulary(path)
    with ds.write() as db:
        have = {lab: (i, st) for i, lab, st in db.execute(
            "SELECT label_id, label, state FROM vocabulary")}
        by_id = {i: lab for lab, (i, _st) in have.items() if i is not None}
        problems, added, already = [], [], 0
        for label_id, label in rows:
            old = have.get(label)
            if old is not None and old[0] == label_id:
                already += 1
            elif old is not None and old[1] == "accepted":
                problems.append(f"{label!r} has label_id {old[0]} in the dataset, not "
                                f"{label_id}")
            elif label_id in by_id and by_id[label_id] != label:
                problems.append(f"label_id {label_id} is {by_id[label_id]!r}'s in the dataset")
            else:
                added.append((label_id, label))
        if problems:
            raise ImportError_(Path(path), problems)
        db.executemany("INSERT INTO vocabulary(label_id, label, state) VALUES (?,?,'accepted')"
                       " ON CONFLICT(label) DO UPDATE SET label_id=excluded.label_id, "
                       "state='accepted'", added)
    return len(added), already


def vocabulary(ds, *, refresh: bool = True) -> list[Category]:
    """The accepted categories (by label id), then the proposed ones (by label): those stored
    as proposed and those the projects use that the vocabulary lacks."""
    used = used_categories(ds, refresh=refresh)
    rows = ds.query("SELECT label_id, label, state FROM vocabulary ORDER BY label_id, label")
    out = [Category(lab, i, st, tuple(sorted(used.get(lab, ())))) for i, lab, st in rows
           if st == "accepted"]
    known = {c.label for c in out}
    proposed = {lab for _i, lab, st in rows if st == "proposed"} | (set(used) - known)
    out += [Category(lab, None, "proposed", tuple(sorted(used.get(lab, ()))))
            for lab in sorted(proposed)]
    return out


def label_ids(ds) -> dict[str, int]:
    """``{label: label_id}`` of the accepted categories."""
    return {lab: i for i, lab in ds.query(
        "SELECT label_id, label FROM vocabulary WHERE state='accepted'")}


def propose(ds, label: str) -> None:
    """Record ``label`` as proposed (a person typed it); nothing if the vocabulary has it."""
    label = _label(label)
    with ds.write() as db:
        db.execute("INSERT OR IGNORE INTO vocabulary(label, state) VALUES (?, 'proposed')",
                   (label,))


def accept(ds, label: str, label_id: int | None = None) -> int:
    """Accept a proposed category: it joins the vocabulary with ``label_id`` (default: one
    above the highest); returns its label id."""
    label = _label(label)
    with ds.write() as db:
        row = db.execute("SELECT label_id, state FROM vocabulary WHERE label=?",
                         (label,)).fetchone()
        if row is not None and row[1] == "accepted":
            if label_id is not None and label_id != row[0]:
                raise UserError(f"{label!r} is accepted already, with label_id {row[0]}")
            return row[0]
        if label_id is None:
            label_id = db.execute("SELECT COALESCE(MAX(label_id), -1) + 1 FROM "
                                  "vocabulary").fetchone()[0]
        other = db.execute("SELECT label FROM vocabulary WHERE label_id=?",
                           (label_id,)).fetchone()
        if other is not None:
            raise UserError(f"label_id {label_id} is {other[0]!r}'s; choose another")
        db.execute("INSERT INTO vocabulary(label_id, label, state) VALUES (?,?,'accepted') "
                   "ON CONFLICT(label) DO UPDATE SET label_id=excluded.label_id, "
                   "state='accepted'", (label_id, label))
    return label_id


def rename(ds, old: str, new: str, *, on_line=print) -> int:
    """Rename category ``old`` to ``new`` in the vocabulary (it keeps its label id) and in
    every project that uses it; returns how many projects changed. ``new`` must be a
    category the dataset does not have yet (else: :func:`merge`)."""
    old, new = _label(old), _label(new)
    if new in {c.label for c in vocabulary(ds)} - {old}:
        raise UserError(f"the dataset has a category {new!r} already; merge {old!r} into it "
                        f"with: annotator dataset merge {ds.root} {old!r} --into {new!r}")
    n = _recategorise(ds, {old: new}, f"Rename category {old} to {new} (dataset)", on_line)
    with ds.write() as db:
        db.execute("UPDATE vocabulary SET label=? WHERE label=?", (new, old))
    return n


def merge(ds, sources: list[str], target: str, *, on_line=print) -> int:
    """Merge categories ``sources`` into ``target`` in every project (their objects take
    ``target``) and in the vocabulary (the sources' rows go; ``target`` keeps its label id,
    or takes the first accepted source's when it has none); returns the projects changed."""
    target = _label(target)
    sources = [s for s in dict.fromkeys(_label(s) for s in sources) if s != target]
    known = {c.label for c in vocabulary(ds)}
    unknown = [s for s in sources if s not in known]
    if unknown:
        raise UserError(f"the dataset has no category {unknown[0]!r}; "
                        f"'annotator dataset vocabulary {ds.root}' lists them")
    n = _recategorise(ds, dict.fromkeys(sources, target),
                      f"Merge {', '.join(sources)} into {target} (dataset)", on_line)
    with ds.write() as db:
        has = db.execute("SELECT state FROM vocabulary WHERE label=?", (target,)).fetchone()
        if has is None or has[0] == "proposed":
            first = db.execute(
                f"SELECT label_id FROM vocabulary WHERE state='accepted' AND label IN "
                f"({','.join('?' * len(sources))}) ORDER BY label_id LIMIT 1",
                sources).fetchone()
            if first is not None:
                db.execute("DELETE FROM vocabulary WHERE label=?", (target,))
                db.execute("UPDATE vocabulary SET label=? WHERE label_id=?", (target, first[0]))
        db.executemany("DELETE FROM vocabulary WHERE label=?", [(s,) for s in sources])
    return n


def _recategorise(ds, mapping: dict[str, str], label: str, on_line) -> int:
    """Give every object whose category is a key of ``mapping`` the mapped one, in each
    project that has one: all their locks first, then one undoable operation per project."""
    used = used_categories(ds)
    videos = sorted({v for cat in mapping for v in used.get(cat, ())})
    entries = [ds.video(v) for v in videos]
    locks: list[ProjectLock] = []
    try:
        for e in entries:
            lock = ProjectLock(e.project)
            try:
                lock.acquire()
            except ProjectLockedError as exc:
                raise UserError(f"{exc}; nothing was changed in the dataset") from None
            locks.append(lock)
        for e in entries:  # each under the lock taken above
            with Store(e.project / DB_NAME) as store:
                with store.transaction():
                    op = store.new_op("recategorise", label)
                    for o in store.objects():
                        if o.category in mapping:
                            store.update_object(o.id, category=mapping[o.category], op=op)
            on_line(f"{e.video_id}: {label} (undo in the project undoes it there)")
    finally:
        for lock in locks:
            lock.release()
    return len(entries)


def _label(label: str) -> str:
    label = str(label).strip()
    if not label or len(label) > MAX_LABEL:
        raise UserError(f"a category needs a name of 1 to {MAX_LABEL} characters")
    return label
