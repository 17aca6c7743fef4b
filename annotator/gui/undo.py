"""Undo and redo: a ``QUndoStack`` whose commands are the store's operations.

The store keeps the history (``ops``, revisions, row changes), so undo survives a restart: on
opening a project the stack is rebuilt from ``store.history()``. A command's ``undo``/``redo``
ask the session to run ``store.undo()``/``store.redo()`` on the serial writer thread, then the
views repaint what the operation touched. Pushing a command for work already written does not
write again (the first ``redo`` is a no-op).

The stack follows the store's order of writes (``Operation.seq``, see
:mod:`annotator.core.history`), not operation ids: a propagation job's operation exists from
its start, but it goes on the stack when the job ends, above the edits the person made while it
ran, because it wrote after them. :meth:`HistoryStack.sync` appends what the store has newer
than the stack, and rebuilds the stack when the two orders disagree (a resumed job that wrote
after edits already on the stack).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand, QUndoStack

from annotator.pipeline.opening import HISTORY_LIMIT

if TYPE_CHECKING:  # pragma: no cover
    from annotator.gui.session import ProjectSession


class StoreCommand(QUndoCommand):
    """One store operation (a click, a stroke, an accept, a deletion, a propagation)."""

    def __init__(self, stack: HistoryStack, op_id: int, label: str) -> None:
        super().__init__(label)
        self._stack = stack
        self.op_id = op_id
        self._applied = True  # pushed after the store wrote it

    def redo(self) -> None:  # noqa: D401 - Qt API
        if self._applied:
            return
        self._applied = True
        if not self._stack.replaying:
            self._stack.session.store_history("redo", self.op_id)

    def undo(self) -> None:  # noqa: D401 - Qt API
        self._applied = False
        if not self._stack.replaying:
            self._stack.session.store_history("undo", self.op_id)


class HistoryStack(QUndoStack):
    """The window's undo stack, mirroring the store's operations."""

    def __init__(self, session: ProjectSession) -> None:
        super().__init__(session)
        self.session = session
        self.replaying = False

    def record(self, op_id: int | None, label: str) -> None:
        """Add an operation the store has just written."""
        if op_id is None:
            return
        self.push(StoreCommand(self, int(op_id), label))

    def rebuild(self, history: list | None = None) -> None:
        """Mirror the store's history (after opening, or if the two ever disagree);
        ``history`` is ``store.history(HISTORY_LIMIT)`` read off the GUI thread (None: read
        it here)."""
        done, redo = self._store_order(history)
        self.replaying = True
        self.blockSignals(True)  # one round of signals at the end, not one per command
        try:
            self.clear()
            for op in done + redo:
                self.push(StoreCommand(self, op.id, _label(op)))
            for _ in redo:
                super().undo()
            self.setClean()
        finally:
            self.replaying = False
            self.blockSignals(False)
        self._announce()

    def sync(self, history: list | None = None) -> None:
        """Add the operations others (a pipeline job) wrote since the stack last matched the
        store; rebuild when the store's order of writes differs from the stack's
        (``history`` as for :meth:`rebuild`)."""
        done, redo = self._store_order(history)
        have = [self.command(i).op_id for i in range(self.count())]
        want = [op.id for op in done]
        if redo or self.index() != self.count() or not _extends(want, have):
            self.rebuild(history)
            return
        at = want.index(have[-1]) + 1 if have else 0
        for op in done[at:]:
            self.record(op.id, _label(op))

    def _store_order(self, history: list | None) -> tuple[list, list]:
        """(done operations, then the undone ones redo can reach), oldest first by ``seq``."""
        if history is None:
            history = self.session.store.history(HISTORY_LIMIT)
        ops = list(reversed(history))
        done = [op for op in ops if not op.undone]
        last_done = max((op.seq for op in done), default=0)
        return done, [op for op in ops if op.undone and op.seq > last_done]

    def _announce(self) -> None:
        self.indexChanged.emit(self.index())
        self.canUndoChanged.emit(self.canUndo())
        self.canRedoChanged.emit(self.canRedo())


def _extends(want: list[int], have: list[int]) -> bool:
    """Whether the store's order ``want`` is the stack's ``have`` plus newer operations (the
    stack may hold older ones the store's window of HISTORY_LIMIT no longer shows)."""
    if not have:
        return True
    if have[-1] not in want:
        return False
    at = want.index(have[-1]) + 1
    n = min(at, len(have))
    return want[at - n:at] == have[len(have) - n:]


def _label(op) -> str:
    return op.label or op.kind.replace("_", " ")
