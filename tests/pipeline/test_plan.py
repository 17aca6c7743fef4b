"""Propagation planning: nearest-anchor runs, passes of overlapping objects, sweeps."""

from annotator.pipeline.plan import (
    BACKWARD,
    FORWARD,
    Span,
    assign_runs,
    build_sweeps,
    group_spans,
)


def covered(runs):
    return sorted(f for r in runs for f in r.frames)


def test_anchor_at_start_runs_forward_to_the_end():
    runs = assign_runs(Span(1, 7, 10, 20, (10,)))
    assert [(r.anchor, r.direction, r.frames[0], r.last) for r in runs] == [(10, FORWARD, 11, 20)]


def test_anchor_inside_runs_backward_to_the_start_and_forward_to_the_end():
    runs = assign_runs(Span(1, 7, 10, 20, (15,)))
    assert [(r.anchor, r.direction, r.frames) for r in runs] == [
        (15, BACKWARD, (14, 13, 12, 11, 10)), (15, FORWARD, (16, 17, 18, 19, 20))]


def test_frames_between_anchors_come_from_the_nearest_one_each_once():
    span = Span(1, None, 0, 30, (0, 10, 13, 14, 30))
    runs = assign_runs(span)
    # every non-anchor frame exactly once, never an anchor
    assert covered(runs) == [f for f in range(31) if f not in span.anchors]
    owner = {f: r.anchor for r in runs for f in r.frames}
    assert owner[5] == 0 and owner[6] == 10  # tie at 5 goes forward
    assert owner[11] == 10 and owner[12] == 13
    assert owner[22] == 14 and owner[23] == 30
    for r in runs:  # a run never passes a neighbouring anchor
        assert all(abs(f - r.anchor) < 17 for f in r.frames)


def test_span_without_anchor_has_no_runs():
    assert assign_runs(Span(1, 3, 0, 9, ())) == []


def test_overlapping_spans_are_one_pass_disjoint_ones_are_not():
    a, b, c = Span(1, 1, 0, 10, (0,)), Span(2, 2, 8, 20, (8,)), Span(3, 3, 25, 30, (25,))
    d = Span(4, 4, 19, 26, (19,))
    assert group_spans([c, b, a]) == [[a, b], [c]]
    assert group_spans([a, b, c, d]) == [[a, b, d, c]]  # transitive


def test_sweeps_join_and_leave_and_reset_across_gaps():
    a, b = Span(1, 1, 0, 6, (0,)), Span(2, 2, 3, 12, (5,))
    runs = assign_runs(a) + assign_runs(b)
    fwd, bwd = build_sweeps([a, b], runs)
    by_frame = {st.frame: st for st in fwd}
    assert by_frame[0].given == (1,) and by_frame[0].reset
    assert by_frame[5].given == (2,) and by_frame[5].active == (1, 2) and by_frame[5].write == (1,)
    assert by_frame[7].active == (2,)  # object 1's segment ended: it left
    assert [st.frame for st in bwd] == [5, 4, 3]
    assert bwd[0].given == (2,) and bwd[0].reset and bwd[1].write == (2,)
    # frames 3, 4 were written for object 1 by the forward sweep: they win in the backward one
    assert bwd[1].subtract == (1,) and bwd[2].subtract == (1,)
