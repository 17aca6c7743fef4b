import numpy as np
import pytest
from pycocotools import mask as cocomask

from annotator.core import masks as M


def _disk(h=48, w=64, cx=30, cy=20, r=10):
    yy, xx = np.mgrid[:h, :w]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def test_round_trip_and_compressed_str_counts():
    m = _disk()
    rle = M.encode(m)
    assert isinstance(rle["counts"], str) and rle["size"] == [48, 64]
    assert np.array_equal(M.decode(rle), m)
    # pycocotools reads what we write
    back = cocomask.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    assert np.array_equal(back.astype(bool), m)


def test_area_bbox_match_pixels():
    m = np.zeros((10, 20), bool)
    m[2:5, 3:9] = True
    rle = M.encode(m)
    assert M.area(rle) == 18
    assert M.bbox(rle) == (3.0, 2.0, 6.0, 3.0)


def test_iou_union_difference_intersection():
    a = np.zeros((8, 8), bool)
    b = np.zeros((8, 8), bool)
    a[:, :4] = True
    b[:, 2:6] = True
    ra, rb = M.encode(a), M.encode(b)
    assert M.iou(ra, rb) == pytest.approx(16 / 48)
    assert np.array_equal(M.decode(M.union([ra, rb])), a | b)
    assert np.array_equal(M.decode(M.intersection(ra, rb)), a & b)
    assert np.array_equal(M.decode(M.difference(ra, rb)), a & ~b)


def test_empty_masks():
    e = M.empty(5, 7)
    assert M.is_empty(e) and M.area(e) == 0 and M.bbox(e) == (0, 0, 0, 0)
    assert M.iou(e, M.empty(5, 7)) == 1.0
    assert M.iou(e, M.encode(np.ones((5, 7), bool))) == 0.0


def test_wrong_size_is_a_clear_error_never_a_resize():
    with pytest.raises(M.MaskSizeError, match="853×480.*854×480"):
        M.check_size(np.zeros((480, 853), bool), (480, 854), "judo/00005.png")
    with pytest.raises(M.MaskSizeError):
        M.iou(M.empty(4, 4), M.empty(4, 5))


def test_uncompressed_list_counts_accepted():
    m = _disk(20, 20, 10, 10, 5)
    # uncompressed RLE (column-major run lengths) as some COCO files store
    flat = m.T.flatten().astype(np.uint8)
    runs, cur, n = [], 0, 0
    for v in flat:
        if v != cur:
            runs.append(n)
            cur, n = v, 0
        n += 1
    runs.append(n)
    rle = {"size": [20, 20], "counts": runs}
    assert np.array_equal(M.decode(rle), m)
    assert isinstance(M.to_compressed(rle)["counts"], str)
