"""The installed Qt binding keeps Python's reference counts: PySide6 6.12.0 dropped a
reference to ``True`` (and to ``None`` passed through a signal) on every emission, so a window
aborted with "deallocating True or False" after a few thousand signals — an hour of work.
pyproject excludes that release; this test catches one like it before a person does."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    anything = Signal(object)
    number = Signal(int)


def test_signal_emission_keeps_reference_counts(qapp):
    e = _Emitter()
    seen = []
    e.anything.connect(lambda v: seen.append(v))
    e.number.connect(lambda v: seen.append(v))
    before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(200):
        e.anything.emit(None)
        e.number.emit(1)
    del seen[:]
    after = sys.getrefcount(True), sys.getrefcount(None)
    assert after[0] >= before[0] - 5, f"True lost {before[0] - after[0]} references"
    assert after[1] >= before[1] - 5, f"None lost {before[1] - after[1]} references"
