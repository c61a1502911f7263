"""Model preparation: from the registry packages to verified ONNX files, idempotently."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from faceengine import FaceEngine
from faceengine.errors import ModelUnavailable
from faceengine.models import REQUIRED
from facelab.modelprep import prepare
from facelab.modelprep.sources import sha256_of


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    prepare.prepare_models(directory, log=lambda _message: None)
    return directory


@pytest.mark.models
def test_every_model_is_written_with_its_checksums_and_verification(prepared: Path) -> None:
    manifest = json.loads((prepared / "manifest.json").read_text())
    assert set(manifest) == {spec.name for spec in prepare.MODELS}
    for spec in prepare.MODELS:
        entry = manifest[spec.name]
        assert entry["source_sha256"] == spec.source.sha256
        assert entry["sha256"] == sha256_of(prepared / f"{spec.name}.onnx")
        assert 0 <= entry["max_abs_difference_from_reference"] <= spec.tolerance


def test_a_second_run_changes_nothing(prepared: Path) -> None:
    before = {path.name: path.stat().st_mtime_ns for path in prepared.glob("*.onnx")}
    messages: list[str] = []
    prepare.prepare_models(prepared, log=messages.append)
    assert messages == [f"{spec.name}: up to date" for spec in prepare.MODELS]
    assert {path.name: path.stat().st_mtime_ns for path in prepared.glob("*.onnx")} == before


@pytest.mark.models
def test_a_damaged_model_file_is_rebuilt(prepared: Path) -> None:
    target = prepared / "face_mesh.onnx"
    good = sha256_of(target)
    target.write_bytes(target.read_bytes()[:1000])
    messages: list[str] = []
    prepare.prepare_models(prepared, log=messages.append)
    assert "face_mesh: up to date" not in messages
    assert sha256_of(target) == good  # the conversion is deterministic


def test_a_source_file_with_another_checksum_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = prepare.MODELS[0]
    wrong = dataclasses.replace(spec, source=dataclasses.replace(spec.source, sha256="0" * 64))
    monkeypatch.setattr(prepare, "MODELS", (wrong,))
    with pytest.raises(ModelUnavailable, match="differs from the pinned"):
        prepare.prepare_models(tmp_path, log=lambda _message: None)
    assert not (tmp_path / f"{spec.name}.onnx").exists()


def test_the_sface_source_with_another_checksum_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (spec,) = [spec for spec in prepare.MODELS if spec.kind == "sface"]
    wrong = dataclasses.replace(spec, source=dataclasses.replace(spec.source, sha256="f" * 64))
    monkeypatch.setattr(prepare, "MODELS", (wrong,))
    with pytest.raises(ModelUnavailable, match="differs from the pinned"):
        prepare.prepare_models(tmp_path, log=lambda _message: None)
    assert not (tmp_path / f"{spec.name}.onnx").exists()


def test_a_missing_package_is_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    spec = prepare.MODELS[0]
    absent = dataclasses.replace(
        spec, source=dataclasses.replace(spec.source, distribution="no-such-package")
    )
    monkeypatch.setattr(prepare, "MODELS", (absent,))
    with pytest.raises(ModelUnavailable, match="not installed"):
        prepare.prepare_models(tmp_path, log=lambda _message: None)


@pytest.mark.models
def test_an_engine_loads_the_models_once_prepare_models_wrote_them(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    with pytest.raises(ModelUnavailable, match="not prepared"):
        FaceEngine(models_dir=fresh, threads=1)  # serving never prepares
    prepare.prepare_models(fresh, log=lambda _message: None)
    engine = FaceEngine(models_dir=fresh, threads=1)
    assert (fresh / "manifest.json").is_file() and engine.threads == 1


def test_preparation_makes_exactly_the_models_the_engine_requires() -> None:
    # Two lists by design (serving may not import the lab); this keeps them one rule.
    assert tuple(spec.name for spec in prepare.MODELS) == REQUIRED
