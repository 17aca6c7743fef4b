"""What every export shares: frame names as the source names them, the frames themselves, and
atomic writes that never clobber a folder or file that is not an earlier export of the project.

An export folder is built in a temporary sibling (``.NAME.tmp-…``) and moved into place by one
rename; it carries a small ``.avs-export.json`` that names the project, so exporting again
replaces an earlier export of the same project and refuses anything else unless ``overwrite``.
A killed export leaves only the hidden temporary sibling, never a half-written target, and the
next export to the same target removes it.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from annotator.core.lock import pid_alive
from annotator.core.store import Store
from annotator.errors import UserError

MARKER = ".avs-export.json"
PID = ".avs-export.pid"  # in a folder being built: the process building it
Progress = Callable[[int, int], None]


class ExportError(UserError):
    """The export could not be written or did not verify."""


class TargetTaken(ExportError):
    """The target holds something else than an earlier export of this project."""


def project_key(store: Store) -> str:
    """What identifies the project in its exports: its database's absolute path."""
    return str(Path(store.path).resolve())


def sequence_name(store: Store) -> str:
    """The sequence's name: a frame folder's name (its parent for ``JPEGImages``), a video's
    stem."""
    p = Path(store.video().path)
    if store.video().is_folder:
        return p.parent.name if p.name.lower() in ("jpegimages", "frames", "images") else p.name
    return p.stem


def _folder_names(store: Store) -> list[str] | None:
    rec = store.video()
    if not rec.is_folder or not rec.frame_index:
        return None
    from annotator.core.video_index import FrameIndex

    try:
        names = FrameIndex.from_bytes(rec.frame_index).source.get("names")
    except ValueError:
        names = None
    return list(names) if names and len(names) == rec.frame_count else None


def frame_namer(store: Store) -> Callable[[int], str]:
    """``frame -> file name`` as the source names it: a frame folder's own names, else
    ``<video stem>/<frame:06d>.jpg`` (what ``--with-frames`` writes)."""
    names = _folder_names(store)
    if names is not None:
        return lambda i: names[i]
    stem = Path(store.video().path).stem
    return lambda i: f"{stem}/{i:06d}.jpg"


def frame_stem(store: Store) -> Callable[[int], str]:
    """``frame -> stem`` for per-frame PNGs: the source frame's stem, else ``00005``."""
    names = _folder_names(store)
    if names is not None:
        return lambda i: Path(names[i]).stem
    return lambda i: f"{i:05d}"


def write_frames(store: Store, frames: Iterable[int], dest: Path, names: Callable[[int], str],
                 *, video=None, progress: Progress | None = None) -> int:
    """Frame images into ``dest`` under ``names(frame)``: a frame folder's files are copied
    byte for byte; a video's frames are decoded (frame-accurate) and written as JPEG."""
    frames = list(frames)
    rec = store.video()
    src = Path(rec.path)
    own = None
    folder_names = _folder_names(store) if rec.is_folder else None
    if not rec.is_folder and video is None:
        from annotator.core.video_open import open_video

        own = video = open_video(src, rec.frame_index, fps=None)
    try:
        for k, f in enumerate(frames):
            target = dest / names(f)
            target.parent.mkdir(parents=True, exist_ok=True)
            if folder_names is not None:
                shutil.copyfile(src / folder_names[f], target)
            else:
                import cv2

                rgb = video[f]
                if not cv2.imwrite(str(target), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
                    raise ExportError(f"{target}: cannot write the frame image")
            if progress:
                progress(k + 1, len(frames))
    except OSError as exc:
        raise ExportError(f"{src}: cannot copy frame images ({exc.strerror or exc}); "
                          "relink the project if the video moved") from None
    finally:
        if own is not None:
            own.close()
    return len(frames)


def _owner(target: Path) -> str | None:
    """The project an existing export target belongs to (None: not one of our exports)."""
    try:
        if target.is_dir():
            return json.loads((target / MARKER).read_text(encoding="utf-8")).get("project")
        head = target.open("rb").read(65536).decode("utf-8", "replace")
    except (OSError, ValueError, AttributeError):
        return None
    key = '"avs_project": '
    at = head.find(key)
    if at < 0:
        return None
    try:
        return json.JSONDecoder().raw_decode(head[at + len(key):])[0]
    except ValueError:
        return None


def check_target(target: Path, store: Store, overwrite: bool) -> None:
    """Refuse a target that exists, is not empty and is not an earlier export of this
    project, unless ``overwrite``."""
    check_owner(target, project_key(store), overwrite)


def check_owner(target: Path, key: str, overwrite: bool, what: str = "project") -> None:
    """Refuse a target that exists, is not empty and is not an earlier export of the
    ``what`` (a project, a dataset) ``key`` names, unless ``overwrite``."""
    if not target.exists() and not target.is_symlink():
        return
    if target.is_dir() and not any(target.iterdir()):
        return
    if overwrite or _owner(target) == key:
        return
    kind = "folder" if target.is_dir() else "file"
    raise TargetTaken(f"{target}: this {kind} exists and is not an earlier export of this "
                      f"{what}; choose a new name, or pass --overwrite to replace it")


def atomic_dir(target: Path, store: Store, overwrite: bool, fill: Callable[[Path], None],
               info: dict | None = None) -> None:
    """Build the export in a temporary sibling with ``fill(tmp)``, then move it into place."""
    atomic_dir_of(target, project_key(store), overwrite, fill, info)


def atomic_dir_of(target: Path, key: str, overwrite: bool, fill: Callable[[Path], None],
                  info: dict | None = None, what: str = "project") -> None:
    """:func:`atomic_dir` for the export of what ``key`` names (a project's store, a
    dataset's database): its marker holds ``key``."""
    check_owner(target, key, overwrite, what)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _clear_orphans(target)
        # the pid is in the name, so a kill between creating the folder and writing into it
        # still leaves a folder the next export can tell is an orphan
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-",
                                    dir=target.parent))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700: others could not read it
        (tmp / PID).write_text(str(os.getpid()), encoding="ascii")
    except OSError as exc:
        raise cannot(target, "create", exc) from None
    try:
        fill(tmp)
        (tmp / PID).unlink()
        (tmp / MARKER).write_text(json.dumps({"project": key, **(info or {})}),
                                  encoding="utf-8")
        _swap(tmp, target)
    except OSError as exc:
        raise cannot(target, "write", exc) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _clear_orphans(target: Path) -> None:
    """Remove what killed exports to ``target`` left (their process is gone)."""
    for tmp in target.parent.glob(f".{target.name}.tmp-*"):
        named = re.match(r"(\d+)-", tmp.name[len(f".{target.name}.tmp-"):])
        try:
            pid = int(named.group(1)) if named else int((tmp / PID).read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue  # not ours to judge (no pid in its name or file)
        if not pid_alive(pid):  # (alive: another export to the same target is running)
            shutil.rmtree(tmp, ignore_errors=True)



def _swap(tmp: Path, target: Path) -> None:
    if not target.exists() and not target.is_symlink():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old.rmdir()
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        os.replace(old, target)  # put the earlier export back
        raise
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


def atomic_file(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through a temporary file beside it, then one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for orphan in path.parent.glob(f".{path.name}.*.tmp"):  # what killed writers left
        named = re.match(r"(\d+)-", orphan.name[len(f".{path.name}."):])
        if named and not pid_alive(int(named.group(1))):
            orphan.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp",
                               dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600: others could not read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cannot(target: Path, verb: str, exc: OSError) -> ExportError:
    """The export could not be made, in one line with what to do about it."""
    what = {errno.ENOSPC: "free some space or choose another disk",
            errno.EACCES: "choose a folder you can write to",
            errno.EPERM: "choose a folder you can write to",
            errno.EROFS: "choose a folder on a writable disk"}.get(exc.errno or 0)
    return ExportError(f"{target}: cannot {verb} the export ({exc.strerror or exc})"
                       + (f"; {what}" if what else ""))


def _umask() -> int:
    """The process's umask: an export gets the modes any other file written here gets."""
    try:  # Linux says it without changing it (os.umask would, for every thread, a moment)
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
