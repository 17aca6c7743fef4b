"""The window's stage-3 commands: the check view, flag to flag, XMem vs refined, verdicts."""

from __future__ import annotations

from annotator.gui.layers import mask_layer


class ReviewOps:
    """Mixed into :class:`~annotator.gui.main_window.MainWindow`."""

    # -- check view ----------------------------------------------------------------------------
    def show_check_view(self) -> None:
        self.docks["check"].show()
        self.docks["check"].raise_()
        if self.check_view:
            self.check_view.reload()

    def next_flag(self, direction: int = 1) -> None:
        if self.check_view is None:
            return
        if not self.docks["check"].isVisible():
            self.show_check_view()
        self.check_view.step(direction)

    def _goto_flag(self, oid: int, frame: int) -> None:
        if self.objects_panel:
            self.objects_panel.select(oid)
        self.set_object(oid)
        self.go_to(frame)

    def set_compare(self, on: bool) -> None:
        """Show the other version of the current mask: XMem's raw one or the refined one."""
        self._compare = bool(on)
        if self.check_view and self.check_view.compare_btn.isChecked() != self._compare:
            self.check_view.compare_btn.blockSignals(True)
            self.check_view.compare_btn.setChecked(self._compare)
            self.check_view.compare_btn.blockSignals(False)
        if not on or self.session is None or self.object_id is None:
            self._compare_req, self._shown = (getattr(self, "_compare_req", (0,))[0] + 1,), None
            self.canvas.set_preview(None)
            if self.check_view:
                self.check_view.set_compare_text("")
            return
        store, oid, frame, session = self.session.store, self.object_id, self.frame, self.session
        # the request this result answers: a newer request, another frame or object, or the
        # comparison switched off since make it stale, and it is dropped
        self._compare_req = request = (getattr(self, "_compare_req", (0,))[0] + 1, oid, frame)
        self._shown = None

        def work() -> tuple:
            revs = [r for r in store.revisions(oid, frame) if r.rle is not None]
            cur = store.mask(oid, frame)
            if cur is None or len(revs) < 2:
                return None, "No other version of this mask to compare with."
            others = [r for r in revs if r.rev_id != cur.rev_id]
            want = "propagated" if cur.source == "refined" else "refined"
            pick = next((r for r in reversed(others) if r.source == want), others[-1])
            text = (f"Showing the {pick.source} version (revision {pick.rev_id}) instead of "
                    f"the current {cur.source} one; Enter uses it, X switches back.")
            return (pick.rev_id, pick.decode(), store.object(oid).color), text

        def done(result: tuple) -> None:
            if (self.session is not session or self._compare_req != request
                    or (self.object_id, self.frame) != (oid, frame)):
                return  # stale: asked for another frame/object, or superseded
            rec, text = result
            if self.check_view:
                self.check_view.set_compare_text(text)
            if rec is None:
                self.set_compare(False)
                self.status.say(text)
                return
            rev_id, mask, color = rec
            self.canvas.set_preview(mask_layer(mask, color, dashed=True), hides=oid)
            self._shown = (oid, frame, rev_id)

        session.run(work, done)

    def toggle_compare(self) -> None:
        self.set_compare(not self._compare)

    def use_shown_mask(self) -> None:
        """Make the version on screen (after X) this frame's anchor."""
        if self.session is None or self.object_id is None or not self._compare:
            if self.prompt:
                self.prompt.accept(after=self._after_accept)
            return
        shown = getattr(self, "_shown", None)
        if shown is None or shown[:2] != (self.object_id, self.frame):
            self.status.say("The other version of this frame's mask is not on screen yet: wait "
                            "for it (or press X again), then Enter.", True)
            return
        store, (oid, frame, rev_id) = self.session.store, shown

        def fn(op: int) -> list:
            rec = store.revision(rev_id)
            store.put_mask(oid, frame, rec.rle, source=rec.source, anchor=True, op=op)
            return [(oid, frame)]

        self.set_compare(False)
        self.session.apply("Use the other mask version as anchor", fn, "accept",
                           on_done=lambda _op: self._after_accept())

    def mark_current_segment(self, status: str) -> None:
        seg = self.current_segment()
        if seg is None or self.segments_panel is None:
            self.status.say("No segment here to mark.", True)
            return
        self.segments_panel.set_status(status, seg.id)
