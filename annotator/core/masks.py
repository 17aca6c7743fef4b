"""Binary masks as COCO RLE, through pycocotools.

An RLE here is the COCO dict ``{"size": [h, w], "counts": str}`` with *compressed* counts as a
``str`` (what pycocotools writes and ``json`` can store). Masks in memory are ``H×W`` bool
arrays. A mask of the wrong size is an error, never silently resized.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from pycocotools import mask as cocomask

from annotator.errors import UserError

RLE = dict  # {"size": [h, w], "counts": str}


class MaskSizeError(UserError):
    """A mask whose size differs from the video's."""


def check_size(mask: np.ndarray, size_hw: tuple[int, int], what: str = "mask") -> None:
    """Raise :class:`MaskSizeError` unless ``mask`` is exactly ``size_hw`` (h, w)."""
    if mask.ndim != 2:
        raise MaskSizeError(f"{what}: expected a 2-D mask, got shape {tuple(mask.shape)}")
    h, w = size_hw
    if mask.shape != (h, w):
        raise MaskSizeError(
            f"{what} is {mask.shape[1]}×{mask.shape[0]} pixels but the video is {w}×{h}; "
            "masks are never resized silently — re-export the mask at the video's size, "
            "or import with --fit pad-crop to pad/crop it explicitly"
        )


def encode(mask: np.ndarray) -> RLE:
    """Encode an H×W mask (bool or 0/1 or 0/255) as compressed COCO RLE with str counts."""
    if mask.ndim != 2:
        raise MaskSizeError(f"expected a 2-D mask, got shape {tuple(mask.shape)}")
    arr = np.asfortranarray(mask.astype(bool, copy=False).astype(np.uint8))
    rle = cocomask.encode(arr)
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def _c(rle: RLE) -> dict:
    counts = rle["counts"]
    if isinstance(counts, list):  # uncompressed RLE (as in some COCO files)
        h, w = rle["size"]
        if sum(counts) != h * w or any(c < 0 for c in counts):
            # pycocotools would decode the uncovered pixels from uninitialised memory
            raise MaskSizeError(f"uncompressed RLE counts cover {sum(counts)} pixels, not "
                                f"{h}×{w} = {h * w}")
        return cocomask.frPyObjects({"size": [h, w], "counts": counts}, h, w)
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    return {"size": list(rle["size"]), "counts": counts}


def to_compressed(rle: RLE) -> RLE:
    """Any COCO RLE (compressed or list counts) as compressed with str counts."""
    c = _c(rle)
    counts = c["counts"]
    return {"size": [int(c["size"][0]), int(c["size"][1])], "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts}


def decode(rle: RLE) -> np.ndarray:
    """The H×W bool mask of an RLE."""
    return cocomask.decode(_c(rle)).astype(bool)


def area(rle: RLE) -> int:
    return int(cocomask.area(_c(rle)))


def bbox(rle: RLE) -> tuple[float, float, float, float]:
    """COCO box ``(x, y, w, h)``; all zeros for an empty mask."""
    x, y, w, h = cocomask.toBbox(_c(rle)).tolist()
    return (float(x), float(y), float(w), float(h))


def empty(h: int, w: int) -> RLE:
    return encode(np.zeros((h, w), dtype=bool))


def is_empty(rle: RLE) -> bool:
    return area(rle) == 0


def _same_size(a: RLE, b: RLE) -> None:
    if list(a["size"]) != list(b["size"]):
        raise MaskSizeError(f"masks of different sizes: {a['size']} and {b['size']} (h, w)")


def iou(a: RLE, b: RLE) -> float:
    """Intersection over union; two empty masks agree perfectly (1.0)."""
    _same_size(a, b)
    if area(a) == 0 and area(b) == 0:
        return 1.0
    return float(cocomask.iou([_c(a)], [_c(b)], [0])[0, 0])


def union(rles: Iterable[RLE]) -> RLE:
    items = [_c(r) for r in rles]
    if not items:
        raise ValueError("union of no masks")
    for r in items[1:]:
        _same_size(items[0], r)
    return to_compressed(cocomask.merge(items, intersect=False))


def intersection(a: RLE, b: RLE) -> RLE:
    _same_size(a, b)
    return to_compressed(cocomask.merge([_c(a), _c(b)], intersect=True))


def difference(a: RLE, b: RLE) -> RLE:
    """Pixels of ``a`` that are not in ``b``."""
    _same_size(a, b)
    return encode(decode(a) & ~decode(b))
