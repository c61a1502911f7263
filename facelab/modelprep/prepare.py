"""Prepare every model the engine needs: locate, check, convert, verify, cache.

Idempotent: a model whose cached file still matches the manifest is left alone, so the
service and the tests can call `ensure_models` on every start. Several processes may
start at once (gunicorn workers), so preparation holds a file lock and every file is
written to a temporary name and renamed into place: a reader never sees half a model.
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

from faceengine import config, sface
from faceengine.errors import ModelUnavailable
from faceengine.models import MANIFEST, model_path, read_manifest
from faceengine.runtime import session_options
from facelab import testdata
from facelab.modelprep import sface_onnx, sources, tflite_onnx
from facelab.modelprep.sources import SourceFile, sha256_of

# Bump a kind's version when its converter's output changes: cached models of that kind
# (and only those) are then rebuilt.
CONVERTER_VERSIONS = {"tflite": 1, "sface": 1}


@dataclass(frozen=True)
class ModelSpec:
    name: str  # the cached file is <name>.onnx
    source: SourceFile
    kind: str  # "tflite" or "sface"
    input_shape: tuple[int, ...]
    input_range: tuple[float, float]
    tolerance: float  # largest difference from the reference that passes verification


# Tolerances: the detectors regress boxes in input pixels (0..192) and FaceMesh its points
# in crop pixels, so 1e-2 there is far below a pixel; SFace's embedding (raw values up to
# ~4) matches its original to ~1e-5.
MODELS = (
    ModelSpec("detector_short", sources.DETECTOR_SHORT, "tflite", (1, 128, 128, 3), (-1, 1), 2e-2),
    ModelSpec("detector_full", sources.DETECTOR_FULL, "tflite", (1, 192, 192, 3), (-1, 1), 2e-2),
    ModelSpec("face_mesh", sources.FACE_MESH, "tflite", (1, 192, 192, 3), (0, 1), 2e-2),
    # The noise chips only; real aligned faces are added (see _sface_verification_chips).
    ModelSpec(sface.MODEL_NAME, sources.SFACE, "sface", (2, 3, 112, 112), (0, 255), 1e-4),
)

Log = Callable[[str], None]


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".prepare.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(path: Path, payload: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _is_current(spec: ModelSpec, entry: dict[str, object] | None, directory: Path) -> bool:
    path = model_path(spec.name, directory)
    return (
        entry is not None
        and entry.get("source_sha256") == spec.source.sha256
        and entry.get("converter_version") == CONVERTER_VERSIONS[spec.kind]
        and path.is_file()
        and entry.get("sha256") == sha256_of(path)
    )


def _verification_inputs(spec: ModelSpec) -> np.ndarray:
    # Seeded, so that the recorded difference is reproducible.
    low, high = spec.input_range
    rng = np.random.default_rng(20261122)
    return rng.uniform(low, high, size=spec.input_shape).astype(np.float32)


def _convert_and_verify(spec: ModelSpec, source_path: Path) -> tuple[onnx.ModelProto, float]:
    data = source_path.read_bytes()
    inputs = _verification_inputs(spec)
    if spec.kind == "tflite":
        model = tflite_onnx.convert_tflite(data, graph_name=spec.name)
        difference = max(tflite_onnx.max_abs_difference(model, data, inputs).values())
    else:
        model = sface_onnx.convert_sface(data)
        difference = _sface_difference(model, data, inputs.round())
    if not difference <= spec.tolerance:
        raise ModelUnavailable(
            f"{spec.name}: converted model differs from the reference by {difference:.3g} "
            f"(tolerance {spec.tolerance:.3g})"
        )
    return model, difference


def _sface_verification_chips() -> np.ndarray:
    """Real faces from the package photos, aligned as the engine aligns them, [N, 3, 112, 112]."""
    chips = []
    for name, points in testdata.FIVE_POINTS.items():
        try:
            with Image.open(testdata.photo_path(name)) as photo:
                pixels = np.asarray(photo.convert("RGB"))
        except (OSError, importlib.metadata.PackageNotFoundError) as exc:
            raise ModelUnavailable(f"verification photo {name} is not available: {exc}") from exc
        chips.append(sface.align(pixels, np.array(points, np.float32)))
    return sface.to_batch(chips)


def _sface_difference(model: onnx.ModelProto, data: bytes, noise: np.ndarray) -> float:
    """Largest difference from ONNX Runtime running the original int8 graph (minus its unused
    inputs, which is all it needs to load), on real faces, noise and the value extremes.

    The original takes one chip at a time; the prepared graph takes them as one batch,
    which checks its symbolic batch dimension too.
    """
    extremes = np.stack([np.zeros(noise.shape[1:]), np.full(noise.shape[1:], 255.0)])
    batch = np.concatenate([_sface_verification_chips(), noise, extremes]).astype(np.float32)
    original = sface_onnx.without_unused_inputs(onnx.load_model_from_string(data))
    reference = np.concatenate([_run(original, batch[i : i + 1]) for i in range(len(batch))])
    return float(np.abs(_run(model, batch) - reference).max())


def _run(model: onnx.ModelProto, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(
        model.SerializeToString(), sess_options=session_options(1), providers=["CPUExecutionProvider"]
    )
    return np.asarray(session.run(None, {session.get_inputs()[0].name: batch})[0])


def prepare_models(directory: Path | None = None, *, force: bool = False, log: Log = print) -> dict:
    """Make every model ready in `directory`; returns the manifest."""
    directory = directory or config.models_dir()
    with _locked(directory):
        manifest = read_manifest(directory)
        for spec in MODELS:
            if not force and _is_current(spec, manifest.get(spec.name), directory):
                log(f"{spec.name}: up to date")
                continue
            source_path = spec.source.locate()
            actual = sha256_of(source_path)
            if actual != spec.source.sha256:
                raise ModelUnavailable(
                    f"{source_path}: sha256 {actual} differs from the pinned {spec.source.sha256}"
                )
            log(f"{spec.name}: converting {spec.source.path} ({spec.source.distribution})")
            model, difference = _convert_and_verify(spec, source_path)
            payload = model.SerializeToString()
            target = model_path(spec.name, directory)
            _write_atomically(target, payload)
            manifest[spec.name] = {
                "file": target.name,
                "source": f"{spec.source.distribution}=={spec.source.version}:{spec.source.path}",
                "source_sha256": spec.source.sha256,
                "sha256": sha256_of(target),
                "converter_version": CONVERTER_VERSIONS[spec.kind],
                "max_abs_difference_from_reference": difference,
            }
            log(f"{spec.name}: verified (max difference from reference {difference:.2g})")
            _write_atomically(directory / MANIFEST, json.dumps(manifest, indent=2).encode())
    return manifest


def ensure_models(directory: Path | None = None, *, log: Log | None = None) -> Path:
    """Prepare the models if any is missing; cheap when they are all there."""
    directory = directory or config.models_dir()
    manifest = read_manifest(directory)
    complete = all(spec.name in manifest and model_path(spec.name, directory).is_file() for spec in MODELS)
    if not complete:
        prepare_models(directory, log=log or (lambda _message: None))
    return directory
