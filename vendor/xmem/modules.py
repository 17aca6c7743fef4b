"""XMem network modules (SPEC §3): encoders, key projection, fusion blocks, decoder.

Layer names follow the published state dict exactly (``state_dict_keys.tsv``). Object-wise
("group") tensors are handled with the objects folded into the batch dimension: a group tensor
here is ``N×C×h×w`` (one batch element per object), image features are ``1×C×h×w``.

Two places compute the same numbers as the reference in less time:

* A convolution over ``cat[image feature, per-object feature]`` is split by input channels:
  the image part is convolved once and broadcast over the objects.
* Where the reference applies ``conv1(relu(x))`` and ``downsample(x)`` to the same input and
  ``x`` is already non-negative (the output of a ReLU), both convolutions are one convolution
  with their output channels stacked.

Both change only the order of floating-point additions (≈1e-6 relative).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .resnet import BasicBlock, Bottleneck, conv_bn, make_stage


def _weight_cache(module: nn.Module, name: str, build: Callable[[], torch.Tensor]) -> torch.Tensor:
    """A derived weight tensor, rebuilt whenever any parameter or buffer of ``module`` changes."""
    state = [*module.parameters(), *module.buffers()]
    token = tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in state)
    cache = module.__dict__.setdefault("_derived", {})
    hit = cache.get(name)
    if hit is None or hit[0] != token:
        with torch.no_grad():
            hit = (token, build())
        cache[name] = hit
    return hit[1]


class GroupResBlock(nn.Module):
    """Pre-activation residual block without normalisation (SPEC §3.4)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.downsample = nn.Conv2d(cin, cout, 3, padding=1) if cin != cout else None
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(F.relu(g)).relu_())
        return y.float().add_(g if self.downsample is None else self.downsample(g))

    def split_forward(self, shared: torch.Tensor, g: torch.Tensor, g_nonneg: bool) -> torch.Tensor:
        """The block on ``cat[shared (1×Cs), g (N×Cg)]`` with ``shared ≥ 0``; ``shared`` is
        convolved once. ``g_nonneg`` says that ``g ≥ 0`` too (so relu(g) = g)."""
        cs = shared.shape[1]
        cout = self.conv1.out_channels
        assert self.downsample is not None

        def both(lo: int, hi: int | None) -> torch.Tensor:
            return torch.cat(
                [self.conv1.weight[:, lo:hi], self.downsample.weight[:, lo:hi]], 0
            ).contiguous(memory_format=_fmt(shared))

        w_s = _weight_cache(self, "both_shared", lambda: both(0, cs))
        b_s = torch.cat([self.conv1.bias, self.downsample.bias])
        s = F.conv2d(shared, w_s, b_s, padding=1)
        if g_nonneg:
            w_g = _weight_cache(self, "both_group", lambda: both(cs, None))
            t = F.conv2d(g, w_g, padding=1) + s
            a, d = t[:, :cout], t[:, cout:]
        else:
            w1 = _weight_cache(self, "c1_group", lambda: self.conv1.weight[:, cs:].contiguous(memory_format=_fmt(g)))
            wd = _weight_cache(self, "ds_group", lambda: self.downsample.weight[:, cs:].contiguous(memory_format=_fmt(g)))
            a = F.conv2d(F.relu(g), w1, padding=1) + s[:, :cout]
            d = F.conv2d(g, wd, padding=1) + s[:, cout:]
        return self.conv2(F.relu(a)).float().add_(d)


def _fmt(x: torch.Tensor) -> torch.memory_format:
    if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


class ChannelGate(nn.Module):
    def __init__(self, c: int, reduction: int = 16) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Flatten(), nn.Linear(c, c // reduction), nn.ReLU(), nn.Linear(c // reduction, c)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hw = (x.shape[2], x.shape[3])
        att = self.mlp(F.avg_pool2d(x, hw, stride=hw)) + self.mlp(F.max_pool2d(x, hw, stride=hw))
        return x * torch.sigmoid(att)[:, :, None, None]


class _SpatialConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SpatialGate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.spatial = _SpatialConv()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.max(1, keepdim=True)[0], x.mean(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial(pooled))


class CBAM(nn.Module):
    """Channel then spatial attention (SPEC §3.5)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.ChannelGate = ChannelGate(c)
        self.SpatialGate = SpatialGate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.SpatialGate(self.ChannelGate(x))


class FeatureFusionBlock(nn.Module):
    """``block2(g + CBAM(g))`` with ``g = block1(cat[image feature, group feature])``."""

    def __init__(self, x_in: int, g_in: int, g_mid: int, g_out: int) -> None:
        super().__init__()
        self.block1 = GroupResBlock(x_in + g_in, g_mid)
        self.attention = CBAM(g_mid)
        self.block2 = GroupResBlock(g_mid, g_out)
        self.fast = True  # False: the reference's order of computation (for benchmarks)

    def forward(self, x: torch.Tensor, g: torch.Tensor, g_nonneg: bool = False) -> torch.Tensor:
        """``x``: 1×Cx×h×w image feature (≥ 0, a ReLU output); ``g``: N×Cg×h×w."""
        if self.fast:
            g = self.block1.split_forward(x, g, g_nonneg)
        else:
            g = self.block1(torch.cat([x.expand(g.shape[0], -1, -1, -1), g], 1))
        return self.block2(g + self.attention(g))


def gru_update(v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``f·h·(1−u) + u·tanh(n)`` on the three channel slices of ``v`` (SPEC §3.7, quirk 8)."""
    c = h.shape[1]
    forget = torch.sigmoid(v[:, :c])
    update = torch.sigmoid(v[:, c : 2 * c])
    new = torch.tanh(v[:, 2 * c :])
    return forget * h * (1 - update) + update * new


class HiddenReinforcer(nn.Module):
    def __init__(self, g_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.transform = nn.Conv2d(g_dim + hidden_dim, hidden_dim * 3, 3, padding=1)

    def forward(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return gru_update(self.transform(torch.cat([g, h], 1)), h)


class HiddenUpdater(nn.Module):
    def __init__(self, g_dims: tuple[int, int, int], mid: int, hidden_dim: int) -> None:
        super().__init__()
        self.g16_conv = nn.Conv2d(g_dims[0], mid, 1)
        self.g8_conv = nn.Conv2d(g_dims[1], mid, 1)
        self.g4_conv = nn.Conv2d(g_dims[2], mid, 1)
        self.transform = nn.Conv2d(mid + hidden_dim, hidden_dim * 3, 3, padding=1)

    def forward(
        self,
        g16: torch.Tensor,
        g8: torch.Tensor,
        g4: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
        h: torch.Tensor,
        pooled: bool = False,
    ) -> torch.Tensor:
        """``g4``: the stride-4 features joined with the logits, or the pair of them (pooled
        apart, then joined: no full-size copy); ``pooled``: the pair is already pooled."""
        if isinstance(g4, tuple):
            parts = g4 if pooled else [F.interpolate(t, scale_factor=0.25, mode="area") for t in g4]
            pooled4 = torch.cat(list(parts), 1)
        else:
            pooled4 = F.interpolate(g4, scale_factor=0.25, mode="area")
        z = (
            self.g16_conv(g16)
            + self.g8_conv(F.interpolate(g8, scale_factor=0.5, mode="area"))
            + self.g4_conv(pooled4)
        )
        return gru_update(self.transform(torch.cat([z, h], 1)), h)


class KeyEncoder(nn.Module):
    """ResNet-50 stem + layer1..3 → f16 (1024), f8 (512), f4 (256)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.res2 = make_stage(Bottleneck, 64, 64, 3, 1)
        self.layer2 = make_stage(Bottleneck, 256, 128, 4, 2)
        self.layer3 = make_stage(Bottleneck, 512, 256, 6, 2)
        self.fast = True

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.maxpool(conv_bn(self.conv1, self.bn1, img, self.fast).relu_())
        f4 = self.res2(x)
        f8 = self.layer2(f4)
        f16 = self.layer3(f8)
        return f16, f8, f4


class KeyProjection(nn.Module):
    def __init__(self, in_dim: int, key_dim: int) -> None:
        super().__init__()
        self.key_proj = nn.Conv2d(in_dim, key_dim, 3, padding=1)
        self.d_proj = nn.Conv2d(in_dim, 1, 3, padding=1)
        self.e_proj = nn.Conv2d(in_dim, key_dim, 3, padding=1)
        self.fast = True

    def forward(
        self, f16: torch.Tensor, need_s: bool, need_e: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        if need_s and need_e and self.fast:  # one pass over f16 for the three projections
            w = _weight_cache(self, "kde", lambda: torch.cat(
                [self.key_proj.weight, self.d_proj.weight, self.e_proj.weight]
            ).contiguous(memory_format=_fmt(f16)))
            b = torch.cat([self.key_proj.bias, self.d_proj.bias, self.e_proj.bias])
            out = F.conv2d(f16, w, b, padding=1)
            c = self.key_proj.out_channels
            key, d, e = out[:, :c], out[:, c : c + 1], out[:, c + 1 :]
            return key.contiguous(), d**2 + 1, torch.sigmoid(e)
        shrinkage = self.d_proj(f16) ** 2 + 1 if need_s else None
        selection = torch.sigmoid(self.e_proj(f16)) if need_e else None
        return self.key_proj(f16), shrinkage, selection


class ValueEncoder(nn.Module):
    """ResNet-18 on [image, own mask, others] → fuser with f16 → value; hidden reinforcement."""

    def __init__(self, value_dim: int, hidden_dim: int, single_object: bool = False) -> None:
        super().__init__()
        self.single_object = single_object
        self.conv1 = nn.Conv2d(4 if single_object else 5, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = make_stage(BasicBlock, 64, 64, 2, 1)
        self.layer2 = make_stage(BasicBlock, 64, 128, 2, 2)
        self.layer3 = make_stage(BasicBlock, 128, 256, 2, 2)
        self.fuser = FeatureFusionBlock(1024, 256, value_dim, value_dim)
        self.hidden_reinforce = HiddenReinforcer(value_dim, hidden_dim) if hidden_dim > 0 else None
        self.fast = True  # False: the reference's order of computation (for benchmarks)

    def forward(
        self,
        image: torch.Tensor,
        f16: torch.Tensor,
        hidden: torch.Tensor | None,
        masks: torch.Tensor,
        deep_update: bool,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """image 1×3×H×W, f16 1×1024×h×w, hidden N×C_h×h×w, masks N×H×W → value N×C_v×h×w."""
        n = masks.shape[0]
        if self.single_object:
            extra = masks[:, None]
        else:
            if n == 1:
                others = torch.zeros_like(masks)
            else:
                others = torch.stack(
                    [masks[[j for j in range(n) if j != i]].sum(0) for i in range(n)]
                )
            extra = torch.stack([masks, others], 1)
        extra = extra.contiguous(memory_format=_fmt(image))
        if self.fast:  # the image part of conv1 once for all objects, BN folded in
            bn = self.bn1
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            fmt = _fmt(image)

            def part(lo: int, hi: int | None) -> torch.Tensor:
                w = self.conv1.weight[:, lo:hi] * scale[:, None, None, None]
                return w.contiguous(memory_format=fmt)

            w_img = _weight_cache(self, "img", lambda: part(0, 3))
            w_msk = _weight_cache(self, "msk", lambda: part(3, None))
            bias = bn.bias - bn.running_mean * scale
            x = F.conv2d(extra, w_msk, stride=2, padding=3).add_(
                F.conv2d(image, w_img, bias, stride=2, padding=3)
            )
        else:
            x = self.bn1(self.conv1(torch.cat([image.expand(n, -1, -1, -1), extra], 1)))
        x = self.relu(self.maxpool(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        value = self.fuser(f16, x, g_nonneg=True)
        if deep_update and self.hidden_reinforce is not None and hidden is not None:
            hidden = self.hidden_reinforce(value, hidden)
        return value, hidden


class UpsampleBlock(nn.Module):
    def __init__(self, skip_dim: int, g_up_dim: int, g_out_dim: int) -> None:
        super().__init__()
        self.skip_conv = nn.Conv2d(skip_dim, g_up_dim, 3, padding=1)
        self.out_conv = GroupResBlock(g_up_dim, g_out_dim)

    def forward(self, skip: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(g, scale_factor=2, mode="bilinear", align_corners=False)
        return self.out_conv(up.add_(self.skip_conv(skip)))


class Decoder(nn.Module):
    def __init__(self, value_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.hidden_dim = hidden_dim
        self.fuser = FeatureFusionBlock(1024, value_dim + hidden_dim, 512, 512)
        self.hidden_update = (
            HiddenUpdater((512, 256, 257), 256, hidden_dim) if hidden_dim > 0 else None
        )
        self.up_16_8 = UpsampleBlock(512, 512, 256)
        self.up_8_4 = UpsampleBlock(256, 256, 256)
        self.pred = nn.Conv2d(256, 1, 3, padding=1)
        self.fast = True  # False: the reference's order of computation (for benchmarks)

    def forward(
        self,
        f16: torch.Tensor,
        f8: torch.Tensor,
        f4: torch.Tensor,
        hidden: torch.Tensor | None,
        readout: torch.Tensor,
        h_out: bool,
        fp32_head: bool = False,
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """→ (new hidden or None, logits N×H'×W').

        ``fp32_head``: under an autocast, the last convolution (to the logits) and their
        upsampling run in float32 all the same — a tenth of a percent of the decoder's work,
        and the rounding closest to the probabilities (the annotator's bf16 decoder). ``g4``
        is float32 already: the residual blocks sum in float32.
        """
        g = readout if self.hidden_update is None else torch.cat([readout, hidden], 1)
        g16 = self.fuser(f16, g)
        g8 = self.up_16_8(f8, g16)
        g4 = self.up_8_4(f4, g8)
        update = h_out and self.hidden_update is not None
        new_hidden = None
        head = _float32(g4) if fp32_head else contextlib.nullcontext()
        if not self.fast:  # as the reference: ReLU into a new tensor, pool after
            with head:
                logits4 = self.pred(F.relu(g4))
            if update:
                new_hidden = self.hidden_update(g16, g8, (g4, logits4), hidden)
        else:  # the updater needs g4 before the ReLU: pool it first, then ReLU in place
            g4_pooled = F.interpolate(g4, scale_factor=0.25, mode="area") if update else None
            with head:
                logits4 = self.pred(g4.relu_())
            if update:
                pooled = (g4_pooled, F.interpolate(logits4, scale_factor=0.25, mode="area"))
                new_hidden = self.hidden_update(g16, g8, pooled, hidden, pooled=True)
        with head:
            logits = F.interpolate(logits4, scale_factor=4, mode="bilinear", align_corners=False)
        return new_hidden, logits[:, 0]


def _float32(x: torch.Tensor) -> contextlib.AbstractContextManager:
    """No autocast on ``x``'s device inside (what runs there runs in its inputs' dtype)."""
    return torch.autocast(x.device.type, enabled=False)
