"""How far a dataset is (annotator.core.dataset_progress), on the real three-video dataset
(tests/dataset/conftest.py) and on rows that carry review states."""

from __future__ import annotations

from annotator.core.dataset import Dataset
from annotator.core.dataset_progress import dataset_done, finished, masks_done, next_video
from annotator.core.dataset_summary import status_rows


def test_masks_done_and_next_on_a_real_dataset(dataset):
    with Dataset.open(dataset) as ds:
        ds.assign("ann", ["dog-agility", "rollerblade", "motorbike"])
        rows = {r["video_id"]: r for r in status_rows(ds)}
    assert masks_done(rows["dog-agility"]) == 1.0  # 25 masks on its 25 segment frames
    assert masks_done(rows["rollerblade"]) == 1 / 30  # frame 0 of 20 + 10 segment frames
    assert masks_done(rows["motorbike"]) == 0.0
    assert dataset_done(list(rows.values())) == (26, 98)
    assert finished(rows["dog-agility"]) and not finished(rows["motorbike"])
    listed = list(rows.values())
    assert next_video(listed, "ann")["video_id"] == "motorbike"  # dog-agility is done
    assert next_video(listed, "ann", current="motorbike")["video_id"] == "rollerblade"
    assert next_video(listed, "bob") is None


def test_next_takes_what_a_reviewer_sent_back_first():
    def row(vid, review, todo, who="ann", **more):
        return {"video_id": vid, "assignee": who, "review": review, "segments": 1,
                "segment_frames": 10, "todo_frames": todo, **more}

    rows = [row("a", "none", 5), row("b", "approved", 0), row("c", "needs work", 0),
            row("d", "none", 3, who="bob"), row("e", "none", 2, error="unreadable"),
            {"video_id": "f", "assignee": "ann", "review": "none", "segments": 0,
             "segment_frames": 0, "todo_frames": 0}]
    assert not finished(rows[2])  # every frame masked, but a reviewer asks for work
    order = []
    current = None
    for _ in range(3):
        current = next_video(rows, "ann", current)["video_id"]
        order.append(current)
    assert order == ["c", "a", "c"]  # needs work first; f (no segments yet) after a
    assert next_video([r for r in rows if r["video_id"] != "c"], "ann", "a")["video_id"] == "f"
    assert masks_done(rows[5]) is None
