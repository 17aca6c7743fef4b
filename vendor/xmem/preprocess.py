"""Input handling (SPEC §2): normalisation, optional resize, padding to multiples of 16."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def to_tensor(rgb: np.ndarray | torch.Tensor) -> torch.Tensor:
    """H×W×3 uint8 RGB → 3×H×W float32, ``(x/255 − mean)/std`` in float32 (torchvision's
    ``ToTensor`` + ``Normalize``, bit for bit)."""
    t = torch.as_tensor(np.ascontiguousarray(rgb)) if isinstance(rgb, np.ndarray) else rgb
    if t.ndim != 3 or t.shape[-1] != 3:
        raise ValueError(f"expected an H×W×3 RGB image, got shape {tuple(t.shape)}")
    x = t.permute(2, 0, 1).to(torch.float32).div(255)
    mean = torch.tensor(MEAN, dtype=torch.float32, device=x.device)[:, None, None]
    std = torch.tensor(STD, dtype=torch.float32, device=x.device)[:, None, None]
    return x.sub(mean).div(std)


def resize_shorter(image: torch.Tensor, size: int, antialias: bool = False) -> torch.Tensor:
    """C×H×W → shorter side ``size`` (bilinear; antialias off as in the paper-era code)."""
    if size <= 0:
        return image
    h, w = image.shape[-2:]
    if min(h, w) == size:
        return image
    nh, nw = (size, int(w * size / h)) if h < w else (int(h * size / w), size)
    return F.interpolate(image[None], size=(nh, nw), mode="bilinear", align_corners=False, antialias=antialias)[0]


def pad_amounts(h: int, w: int, d: int = 16) -> tuple[int, int, int, int]:
    """(left, right, top, bottom); an odd extra row/column goes to the bottom/right."""
    nh = h if h % d == 0 else h + d - h % d
    nw = w if w % d == 0 else w + d - w % d
    lh, lw = (nh - h) // 2, (nw - w) // 2
    return lw, nw - w - lw, lh, nh - h - lh


def pad(x: torch.Tensor, amounts: tuple[int, int, int, int]) -> torch.Tensor:
    return F.pad(x, amounts) if any(amounts) else x


def unpad(x: torch.Tensor, amounts: tuple[int, int, int, int]) -> torch.Tensor:
    left, right, top, bottom = amounts
    h, w = x.shape[-2:]
    return x[..., top : h - bottom, left : w - right]
