"""ResNet building blocks for the XMem encoders (SPEC §3.1).

Only what the encoders use: the stem pieces, the ResNet-50 ``Bottleneck`` and the ResNet-18
``BasicBlock`` (torchvision "v1.5" layout: the stride sits on the 3×3 convolution), and
``make_stage`` that stacks them. Nothing is pretrained and nothing is downloaded: a checkpoint
overwrites every weight.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d, x: torch.Tensor, fold: bool) -> torch.Tensor:
    """``bn(conv(x))``; in eval mode with ``fold`` the BatchNorm is folded into the weights
    (one pass over the output instead of two; equal up to float rounding)."""
    if not fold or bn.training or conv.training:
        return bn(conv(x))
    state = (conv.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var)
    token = tuple((t.data_ptr(), t._version, t.dtype, t.device) for t in state) + (
        conv.weight.is_contiguous(memory_format=torch.channels_last),
    )
    hit = conv.__dict__.get("_folded")
    if hit is None or hit[0] != token:
        with torch.no_grad():
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            fmt = torch.channels_last if token[-1] else torch.contiguous_format
            w = (conv.weight * scale[:, None, None, None]).contiguous(memory_format=fmt)
            b = bn.bias - bn.running_mean * scale
        hit = (token, w, b)
        conv.__dict__["_folded"] = hit
    return F.conv2d(x, hit[1], hit[2], conv.stride, conv.padding, conv.dilation, conv.groups)


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def downsample_for(cin: int, cout: int, stride: int) -> nn.Sequential:
    """Projection shortcut with keys ``downsample.0`` (1×1 conv) and ``downsample.1`` (BN)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with BN; ResNet-18."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = (
            downsample_for(cin, planes, stride) if stride != 1 or cin != planes else None
        )
        self.fast = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.fast
        y = conv_bn(self.conv1, self.bn1, x, f).relu_()
        y = conv_bn(self.conv2, self.bn2, y, f)
        shortcut = x if self.downsample is None else conv_bn(self.downsample[0], self.downsample[1], x, f)
        return y.float().add_(shortcut).relu_()


class Bottleneck(nn.Module):
    """1×1 → 3×3 (strided) → 1×1 with BN and a ×4 expansion; ResNet-50."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        cout = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample_for(cin, cout, stride) if stride != 1 or cin != cout else None
        self.fast = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.fast
        y = conv_bn(self.conv1, self.bn1, x, f).relu_()
        y = conv_bn(self.conv2, self.bn2, y, f).relu_()
        y = conv_bn(self.conv3, self.bn3, y, f)
        shortcut = x if self.downsample is None else conv_bn(self.downsample[0], self.downsample[1], x, f)
        return y.float().add_(shortcut).relu_()


def make_stage(block: type[nn.Module], cin: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    """``blocks`` blocks; only the first one strides (and projects when needed)."""
    layers = [block(cin, planes, stride)]
    cout = planes * block.expansion  # type: ignore[attr-defined]
    layers += [block(cout, planes, 1) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)
