"""load_checkpoint on the four published checkpoint shapes (written with the shared fill
procedure from the key lists) and on the error cases."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from xmem.loading import CheckpointError, load_checkpoint


def _fill(shared):
    spec = importlib.util.spec_from_file_location("xmem_fill_weights", shared("xmem", "fill_weights.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write(shared, tmp_path, tsv: str, name: str) -> tuple[str, dict[str, torch.Tensor]]:
    fw = _fill(shared)
    sd = fw.fill_from_keys(fw.read_keys_tsv(str(shared("xmem", tsv))))
    path = tmp_path / name
    torch.save(sd, path)
    return str(path), sd


@pytest.mark.parametrize(
    "tsv, name, hidden_dim",
    [
        ("state_dict_keys.tsv", "XMem.pth", 64),
        ("state_dict_keys.tsv", "XMem-s012.pth", 64),
        ("state_dict_keys_single_object.tsv", "XMem-s0.pth", 64),
        ("state_dict_keys_no_sensory.tsv", "XMem-no-sensory.pth", 0),
    ],
)
def test_loads_published_shapes(shared, tmp_path, tsv: str, name: str, hidden_dim: int) -> None:
    path, sd = _write(shared, tmp_path, tsv, name)
    net = load_checkpoint(path, map_location="cpu")
    assert (net.key_dim, net.value_dim, net.hidden_dim) == (64, 512, hidden_dim)
    assert not net.training
    ours = net.state_dict()
    assert set(ours) == set(sd)
    for k, v in sd.items():
        if k == "value_encoder.conv1.weight" and v.shape[1] == 4:
            assert torch.equal(ours[k][:, :4], v)
            assert torch.count_nonzero(ours[k][:, 4]) == 0  # the padded "others" channel
        else:
            assert torch.equal(ours[k], v), k


def test_single_object_ignores_others_channel(shared, tmp_path) -> None:
    path, _ = _write(shared, tmp_path, "state_dict_keys_single_object.tsv", "s0.pth")
    net = load_checkpoint(path)
    img = torch.randn(1, 3, 32, 32)
    with torch.inference_mode():
        f16 = net.encode_key(img)[3]
        masks = torch.rand(2, 32, 32)
        v1, _ = net.encode_value(img, f16, torch.zeros(2, 64, 2, 2), masks, False)
        one = torch.stack([masks[0], torch.zeros_like(masks[0])])
        v2, _ = net.encode_value(img, f16, torch.zeros(2, 64, 2, 2), one, False)
    assert torch.allclose(v1[0], v2[0])  # object 0's value does not depend on the others


def test_loads_without_num_batches_tracked(shared, tmp_path) -> None:
    fw = _fill(shared)
    sd = fw.fill_from_keys(fw.read_keys_tsv(str(shared("xmem", "state_dict_keys.tsv"))))
    sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, tmp_path / "x.pth")
    assert load_checkpoint(tmp_path / "x.pth").hidden_dim == 64


def _broken(shared, tmp_path, change) -> str:
    fw = _fill(shared)
    sd = fw.fill_from_keys(fw.read_keys_tsv(str(shared("xmem", "state_dict_keys.tsv"))))
    change(sd)
    path = tmp_path / "broken.pth"
    torch.save(sd, path)
    return str(path)


def test_error_names_missing_unexpected_and_misshaped(shared, tmp_path) -> None:
    def change(sd):
        del sd["decoder.pred.bias"]
        sd["decoder.extra.weight"] = torch.zeros(3)
        sd["decoder.pred.weight"] = torch.zeros(2, 256, 3, 3)

    path = _broken(shared, tmp_path, change)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    msg = str(err.value)
    assert path in msg
    assert "missing keys (1): decoder.pred.bias" in msg
    assert "unexpected keys (1): decoder.extra.weight" in msg
    assert "decoder.pred.weight (2, 256, 3, 3) (expected (1, 256, 3, 3))" in msg


def test_error_prefixed_keys(shared, tmp_path) -> None:
    path = _broken(shared, tmp_path, lambda sd: sd.update({f"module.{k}": sd.pop(k) for k in list(sd)}))
    with pytest.raises(CheckpointError, match="broken.pth"):
        load_checkpoint(path)


def test_error_not_a_state_dict(tmp_path) -> None:
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match=r"list\.pth is not a plain state dict"):
        load_checkpoint(tmp_path / "list.pth")


def test_error_refuses_pickled_objects(tmp_path) -> None:
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        torch.save({"x": Path("a")}, f)  # a non-tensor object: weights_only refuses it
    with pytest.raises(CheckpointError, match="evil.pth"):
        load_checkpoint(path)


def test_error_garbage_and_missing_file(tmp_path) -> None:
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="junk.pth"):
        load_checkpoint(tmp_path / "junk.pth")
    with pytest.raises(CheckpointError, match="nothere.pth: no such checkpoint file"):
        load_checkpoint(tmp_path / "nothere.pth")
