"""Undo and redo: a ``QUndoStack`` whose commands are the store's operations.

The store keeps the history (``ops``, revisions, row changes), so undo survives a restart: on
opening a project the stack is rebuilt from ``store.history()``. A command's ``undo``/``redo``
ask the session to run ``store.undo()``/``store.redo()`` on the serial writer thread, then the
views repaint what the operation touched. Pushing a command for work already written does not
write again (the first ``redo`` is a no-op).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand, QUndoStack

if TYPE_CHECKING:  # pragma: no cover
    from annotator.gui.session import ProjectSession

HISTORY_LIMIT = 500


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

    def rebuild(self) -> None:
        """Mirror the store's history (after opening, or if the two ever disagree)."""
        store = self.session.store
        ops = list(reversed(store.history(HISTORY_LIMIT)))
        done = [op for op in ops if not op.undone]
        last_done = max((op.id for op in done), default=0)
        redo = [op for op in ops if op.undone and op.id > last_done]
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

    def sync(self) -> None:
        """Add the operations others (a pipeline job) wrote since the newest command here."""
        newest = self.command(self.count() - 1) if self.count() else None
        if self.index() != self.count():  # there was redo history: the job ended it
            self.rebuild()
            return
        since = newest.op_id if newest is not None else 0
        ops = [op for op in reversed(self.session.store.history(50)) if op.id > since]
        if any(op.undone for op in ops) or (len(ops) == 50):
            self.rebuild()
            return
        for op in ops:
            self.record(op.id, _label(op))

    def _announce(self) -> None:
        self.indexChanged.emit(self.index())
        self.canUndoChanged.emit(self.canUndo())
        self.canRedoChanged.emit(self.canRedo())


def _label(op) -> str:
    return op.label or op.kind.replace("_", " ")
