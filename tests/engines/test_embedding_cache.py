"""The embedding cache: memory LRU, float16 files on disk, damage, deletion, size cap."""

from __future__ import annotations

import os
import shutil
import threading
import time

import numpy as np

from annotator.engines.embedding_cache import Embedding, EmbeddingCache


def _emb(seed: int) -> Embedding:
    rng = np.random.default_rng(seed)
    return Embedding(rng.standard_normal((1, 256, 64, 64)).astype(np.float32), (480, 854), (575, 1024))


def test_memory_lru_keeps_the_most_recent(tmp_path):
    cache = EmbeddingCache(None, memory_items=2)
    for i in range(3):
        cache.put("m", f"f{i}", _emb(i))
    assert cache.get("m", "f0") is None  # evicted, and there is no disk
    cache.get("m", "f1")  # f1 is now the most recent
    cache.put("m", "f3", _emb(3))
    assert cache.get("m", "f2") is None
    assert cache.get("m", "f1")[1] == "memory"


def test_disk_round_trip_in_float16_survives_a_new_instance(tmp_path):
    emb = _emb(0)
    EmbeddingCache(tmp_path).put("model-a", "frame-1", emb)
    other = EmbeddingCache(tmp_path)  # what a restart sees
    got, where = other.get("model-a", "frame-1")
    assert where == "disk"
    assert got.features.dtype == np.float16
    np.testing.assert_array_equal(got.features, emb.features.astype(np.float16))
    assert got.original_size == (480, 854) and got.input_size == (575, 1024)
    assert other.get("model-a", "frame-1")[1] == "memory"
    assert other.get("model-b", "frame-1") is None  # keyed by the model too


def test_a_damaged_file_is_a_miss_and_is_removed(tmp_path):
    cache = EmbeddingCache(tmp_path, memory_items=0)
    cache.put("m", "f", _emb(0))
    path = cache.path_for("m", "f")
    path.write_bytes(path.read_bytes()[:1000])
    assert cache.get("m", "f") is None
    assert not path.exists()


def test_the_folder_may_be_deleted_at_any_time(tmp_path):
    folder = tmp_path / "embeddings"
    cache = EmbeddingCache(folder, memory_items=0)
    cache.put("m", "f", _emb(0))
    shutil.rmtree(folder)
    assert cache.get("m", "f") is None
    cache.put("m", "g", _emb(1))
    assert cache.get("m", "g")[1] == "disk"


def test_size_cap_evicts_the_least_recently_used(tmp_path):
    one = 2 * 256 * 64 * 64  # float16 bytes per embedding (plus a small header)
    cache = EmbeddingCache(tmp_path, memory_items=0, max_bytes=int(3.5 * one))
    for i in range(3):
        cache.put("m", f"f{i}", _emb(i))
        past = time.time() - 100 + i
        os.utime(cache.path_for("m", f"f{i}"), (past, past))
    assert cache.get("m", "f0") is not None  # reading marks f0 as recently used
    cache.put("m", "f3", _emb(3))
    kept = {p.stem for p in tmp_path.glob("*/*.npz")}
    assert "f3" in kept and "f0" in kept
    assert "f1" not in kept
    assert cache.disk_bytes() <= 3.5 * one


def test_concurrent_writers_and_readers(tmp_path):
    cache = EmbeddingCache(tmp_path, memory_items=4)
    errors = []

    def work(i: int) -> None:
        try:
            for j in range(5):
                cache.put("m", f"f{i}-{j}", _emb(j))
                assert cache.get("m", f"f{i}-{j}") is not None
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(list(tmp_path.glob("*/*.npz"))) == 20
    assert not list(tmp_path.glob("*/.tmp-*"))
