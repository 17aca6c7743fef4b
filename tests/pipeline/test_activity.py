"""The active-time meter alone, on a fake clock (the test plays the seconds; no sleeps): input
keeps the next 60 s active, time goes to the segment under the playhead when it elapses, and
to the day it elapsed on; nothing counts before the first input or after closing."""

from annotator.pipeline.activity import IDLE_AFTER_S, ActiveTimeMeter


class Clock:
    """A fake clock: ``now`` moves only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.day = "2024-05-01"

    def __call__(self) -> float:
        return self.now


def meter(clock: Clock) -> ActiveTimeMeter:
    return ActiveTimeMeter(clock=clock, day=lambda: clock.day)


def test_input_keeps_the_next_minute_active_and_no_more():
    c = Clock()
    m = meter(c)
    assert IDLE_AFTER_S == 60.0
    c.now += 30  # open, no input yet: not active
    assert m.take() == []
    m.input()
    c.now += 20
    m.input()  # 20 s active
    c.now += 200  # then nothing: only the 60 s after the last input count
    assert m.take() == [(None, "2024-05-01", 80.0)]
    c.now += 10
    assert m.take() == []  # idle: nothing more
    m.input()
    c.now += 45
    assert m.take() == [(None, "2024-05-01", 45.0)]
    c.now += 45  # the rest of that minute (15 s), then idle
    assert m.take() == [(None, "2024-05-01", 15.0)]


def test_time_goes_to_the_segment_and_day_it_elapsed_on():
    c = Clock()
    m = meter(c)
    m.where(7)
    m.input()
    c.now += 10
    m.where(8)  # the playhead moved onto segment 8: the 10 s so far were segment 7's
    c.now += 5
    m.input()
    c.now += 30
    m.where(None)  # off every segment
    c.now += 4
    c.day = "2024-05-02"  # midnight passed: what is taken now goes to the new day
    m.input()
    c.now += 6
    got = sorted(m.take(), key=lambda r: (r[1], r[0] is None, r[0] or 0))
    assert got == [(7, "2024-05-01", 10.0), (8, "2024-05-01", 35.0),
                   (None, "2024-05-02", 10.0)]
    assert m.pending_s == 0


def test_nothing_counts_after_closing():
    c = Clock()
    m = meter(c)
    m.where(3)
    m.input()
    c.now += 12
    assert m.close() == [(3, "2024-05-01", 12.0)]
    c.now += 12
    m.input()
    c.now += 12
    assert m.take() == [] and m.closed
