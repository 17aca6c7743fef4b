"""The XMem network (SPEC §1.1, §3): four sub-modules and the calls the inference core makes.

Object-wise tensors have the objects in the batch dimension (``N×C×h×w``); the image and its
features have batch 1.
"""

from __future__ import annotations

import torch
from torch import nn

from .modules import Decoder, KeyEncoder, KeyProjection, ValueEncoder


def aggregate(prob: torch.Tensor) -> torch.Tensor:
    """Soft aggregation (SPEC §3.9): N object probabilities (dim 0) → N+1, background first."""
    bg = torch.prod(1 - prob, dim=0, keepdim=True)
    q = torch.cat([bg, prob], 0).clamp(1e-7, 1 - 1e-7)
    return torch.softmax(torch.log(q / (1 - q)), dim=0)


class XMem(nn.Module):
    """Key encoder, key projection, value encoder and decoder with the published key names.

    ``key_dim``/``value_dim``/``hidden_dim`` default to the published 64/512/64;
    ``hidden_dim=0`` builds the variant without a hidden (sensory) state.
    """

    def __init__(self, key_dim: int = 64, value_dim: int = 512, hidden_dim: int = 64) -> None:
        super().__init__()
        self.key_dim = key_dim
        self.value_dim = value_dim
        self.hidden_dim = hidden_dim
        self.key_encoder = KeyEncoder()
        self.value_encoder = ValueEncoder(value_dim, hidden_dim)
        self.key_proj = KeyProjection(1024, key_dim)
        self.decoder = Decoder(value_dim, hidden_dim)

    def set_fast_paths(self, enabled: bool) -> None:
        """Fast paths on (default: shared-part convolutions, BatchNorm folded into convolutions)
        or off (the reference's order of computation, for benchmarks and tests)."""
        for m in self.modules():
            if hasattr(m, "fast"):
                m.fast = enabled

    def encode_key(
        self, image: torch.Tensor, need_sk: bool = True, need_ek: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor, torch.Tensor, torch.Tensor]:
        """image 1×3×H'×W' → key, shrinkage, selection, f16, f8, f4."""
        f16, f8, f4 = self.key_encoder(image)
        key, shrinkage, selection = self.key_proj(f16, need_sk, need_ek)
        return key, shrinkage, selection, f16, f8, f4

    def encode_value(
        self,
        image: torch.Tensor,
        f16: torch.Tensor,
        hidden: torch.Tensor | None,
        masks: torch.Tensor,
        deep_update: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """masks N×H'×W' (objects without background) → value N×C_v×h×w, hidden."""
        return self.value_encoder(image, f16, hidden, masks, deep_update)

    def segment(
        self,
        f16: torch.Tensor,
        f8: torch.Tensor,
        f4: torch.Tensor,
        readout: torch.Tensor,
        hidden: torch.Tensor | None,
        h_out: bool = True,
        fp32_head: bool = False,
    ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
        """readout N×C_v×h×w → (new hidden or None, logits N×H'×W', probs (N+1)×H'×W').
        ``fp32_head``: the decoder's last convolution in float32 under an autocast."""
        new_hidden, logits = self.decoder(f16, f8, f4, hidden, readout, h_out, fp32_head)
        return new_hidden, logits, aggregate(torch.sigmoid(logits))
