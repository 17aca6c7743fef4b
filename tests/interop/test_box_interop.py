"""Boxes read by Datumaro (issue 26): a box-only segment's boxes in CVAT for images and in the
Datumaro COCO layout come back as Datumaro ``Bbox`` annotations with the project's
coordinates. Needs the ``interop`` extra (see tests/interop/test_third_party.py); without it
the tests skip and say why, with ``AVS_INTEROP=1`` (CI) a missing Datumaro is a failure."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
from PIL import Image

from annotator import api

SEQ = "dog-agility"


def need(module: str):
    """Import a third-party reader, or skip (fail under ``AVS_INTEROP=1``) saying how."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        msg = f"{module} is not installed ({exc}): pip install -e '.[interop]'"
        if os.environ.get("AVS_INTEROP"):
            pytest.fail(msg)
        pytest.skip(msg)


def _tight(shared, frame):
    gt = np.array(Image.open(shared("data", "davis2016", SEQ, "Annotations",
                                    f"{frame:05d}.png"))) > 0
    ys, xs = np.nonzero(gt)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


@pytest.fixture
def boxed(shared, tmp_path):
    p = api.create(shared("data", "davis2016", SEQ, "JPEGImages"), tmp_path / "dog.avsproj")
    dog = p.add_object("dog", category="dog")
    p.add_segment(dog, 0, 10)
    p.store.put_box(dog, 0, _tight(shared, 0))
    p.store.put_box(dog, 10, _tight(shared, 10))
    yield p
    p.close()


def _bboxes(ds):
    from datumaro.components.annotation import AnnotationType

    return {it.id: [a for a in it.annotations if a.type == AnnotationType.bbox] for it in ds}


@pytest.mark.parametrize("fmt, reader", [("cvat-images", "cvat"), ("datumaro", "coco")])
def test_datumaro_reads_the_boxes(boxed, shared, tmp_path, fmt, reader):
    need("datumaro")
    from datumaro.components.dataset import Dataset

    if fmt == "cvat-images":  # Datumaro reads CVAT for images beside its images/ folder
        (tmp_path / "cv").mkdir()
        (tmp_path / "cv" / "images").symlink_to(shared("data", "davis2016", SEQ, "JPEGImages"))
        out = tmp_path / "cv" / "default.xml"
    else:
        out = tmp_path / "dm"
    boxed.export(fmt, out)
    ds = Dataset.import_from(str(out), reader)
    boxes = {k: v for k, v in _bboxes(ds).items() if v}
    assert len(boxes) == 11 and all(len(v) == 1 for v in boxes.values())
    first = boxes[min(boxes, key=lambda k: int(k.split("/")[-1]))][0]
    x0, y0, x1, y1 = _tight(shared, 0)
    assert [first.x, first.y, first.x + first.w, first.y + first.h] == \
        pytest.approx([x0, y0, x1, y1], abs=0.01)
