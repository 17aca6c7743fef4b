"""ResNet building blocks for the XMem encoders (SPEC §3.1).

Only what the encoders use: the stem pieces, the ResNet-50 ``Bottleneck`` and the ResNet-18
``BasicBlock`` (torchvision "v1.5" layout: the stride sits on the 3×3 convolution), and
``make_stage`` that stacks them. Nothing is pretrained and nothing is downloaded: a checkpoint
overwrites every weight.
"""

from __future__ import annotations

import torch
from torch import nn


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(y + shortcut)


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(y + shortcut)


def make_stage(block: type[nn.Module], cin: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    """``blocks`` blocks; only the first one strides (and projects when needed)."""
    layers = [block(cin, planes, stride)]
    cout = planes * block.expansion  # type: ignore[attr-defined]
    layers += [block(cout, planes, 1) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)
