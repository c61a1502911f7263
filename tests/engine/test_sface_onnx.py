"""Preparation of OpenCV Zoo's SFace: int8 weights dequantised, graph cleaned, numbers kept."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from faceengine import sface
from faceengine.runtime import session_options
from facelab import testdata
from facelab.modelprep import sources
from facelab.modelprep.sface_onnx import (
    UnexpectedSFaceGraph,
    convert_sface,
    dequantize,
    without_unused_inputs,
)

Batch = npt.NDArray[np.float32]


@pytest.fixture(scope="module")
def source_bytes() -> bytes:
    return sources.SFACE.locate().read_bytes()


@pytest.fixture(scope="module")
def original(source_bytes: bytes) -> onnx.ModelProto:
    return onnx.load_model_from_string(source_bytes)


@pytest.fixture(scope="module")
def prepared(source_bytes: bytes) -> onnx.ModelProto:
    return convert_sface(source_bytes)


def _session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(
        model.SerializeToString(), sess_options=session_options(1), providers=["CPUExecutionProvider"]
    )


def _run(session: ort.InferenceSession, batch: Batch) -> Batch:
    return np.asarray(session.run(None, {session.get_inputs()[0].name: batch})[0])


@pytest.fixture(scope="module")
def faces() -> Batch:
    """The package photos' faces aligned as the engine aligns them, each also mirrored."""
    chips = []
    for name, points in testdata.FIVE_POINTS.items():
        with Image.open(testdata.photo_path(name)) as photo:
            chip = sface.align(np.asarray(photo.convert("RGB")), np.array(points, np.float32))
        chips += [chip, np.ascontiguousarray(chip[:, ::-1])]
    return sface.to_batch(chips)


def _dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_the_source_declares_29_weight_inputs_that_nothing_reads(original: onnx.ModelProto) -> None:
    pruned = without_unused_inputs(original)
    initializers = {tensor.name for tensor in original.graph.initializer}
    removed = {value.name for value in original.graph.input} - {value.name for value in pruned.graph.input}
    assert len(removed) == 29 and not removed & initializers
    assert [value.name for value in pruned.graph.input if value.name not in initializers] == ["data"]


def test_the_prepared_graph_is_float_with_a_symbolic_batch(prepared: onnx.ModelProto) -> None:
    graph = prepared.graph
    assert [(value.name, _dims(value)) for value in graph.input] == [("data", ["N", 3, 112, 112])]
    assert [(value.name, _dims(value)) for value in graph.output] == [("fc1", ["N", 128])]
    ops = Counter(node.op_type for node in graph.node)
    assert not {"DequantizeLinear", "PRelu", "BatchNormalization", "Dropout", "Reshape"} & set(ops)
    # 27 network Convs, each PRelu as two depthwise 1x1 Convs, a Relu and an Add.
    assert ops == {"Conv": 81, "Relu": 27, "Add": 27, "Sub": 1, "Mul": 1, "Flatten": 1, "Gemm": 1}
    assert {tensor.data_type for tensor in graph.initializer} == {TensorProto.FLOAT}
    names = [node.name for node in graph.node]
    assert all(names) and len(set(names)) == len(names)
    assert [(o.domain, o.version) for o in prepared.opset_import] == [("", 17)]
    assert {prop.key: prop.value for prop in prepared.metadata_props}["license"] == "Apache-2.0"
    onnx.checker.check_model(prepared, full_check=True)


@pytest.mark.models
def test_dequantising_the_shipped_weights_is_bit_exact(original: onnx.ModelProto) -> None:
    """Each constant DequantizeLinear of the file, computed ahead of time, equals what ONNX
    Runtime computes from the int8 weights: per-tensor, per-axis and block-wise all occur."""
    constants = {tensor.name: tensor for tensor in original.graph.initializer}
    nodes = [node for node in original.graph.node if node.op_type == "DequantizeLinear"]
    assert len(nodes) == 29
    for node in nodes:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        arrays = [numpy_helper.to_array(constants[name]) for name in node.input]
        ours = dequantize(*arrays, axis=attrs.get("axis", 1), block_size=attrs.get("block_size", 0))
        theirs = _dequantize_in_onnx_runtime(node, [constants[name] for name in node.input])
        assert ours.dtype == theirs.dtype == np.float32
        assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32)), node.input[0]


def _dequantize_in_onnx_runtime(node: onnx.NodeProto, inputs: list[TensorProto]) -> Batch:
    alone = helper.make_graph(
        [helper.make_node("DequantizeLinear", list(node.input), ["y"], **_attrs(node))],
        "dequantize",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inputs,
    )
    model = helper.make_model(alone, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    return np.asarray(ort.InferenceSession(model.SerializeToString()).run(None, {})[0])


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


@pytest.mark.parametrize(
    ("scale_shape", "axis", "block_size"),
    [
        pytest.param((), 1, 0, id="per-tensor"),
        pytest.param((5,), 0, 0, id="per-axis"),
        pytest.param((7,), -1, 0, id="per-last-axis"),
        pytest.param((5, 3), 1, 3, id="blocks"),
        pytest.param((5, 2), 1, 4, id="blocks-with-a-short-last-one"),
    ],
)
def test_dequantize_follows_the_onnx_definition(
    scale_shape: tuple[int, ...], axis: int, block_size: int
) -> None:
    rng = np.random.default_rng(7)
    quantized = rng.integers(-128, 128, (5, 7), dtype=np.int8)
    scale = rng.uniform(1e-4, 1e-2, scale_shape).astype(np.float32)
    zero_point = rng.integers(-20, 20, scale_shape, dtype=np.int8)
    expected = np.empty((5, 7), np.float32)
    for i, j in np.ndindex(5, 7):
        index = {(): (), (5,): (i,), (7,): (j,)}.get(scale_shape, (i, j // max(block_size, 1)))
        expected[i, j] = np.float32(int(quantized[i, j]) - int(zero_point[index])) * scale[index]
    actual = dequantize(quantized, scale, zero_point, axis=axis, block_size=block_size)
    assert np.array_equal(actual, expected)
    assert np.array_equal(dequantize(quantized, scale, axis=axis, block_size=block_size) != 0, quantized != 0)


@pytest.mark.models
def test_the_prepared_graph_matches_the_original_on_real_faces(
    original: onnx.ModelProto, prepared: onnx.ModelProto, faces: Batch
) -> None:
    reference_session = _session(without_unused_inputs(original))  # it takes one face at a time
    reference = np.concatenate([_run(reference_session, faces[i : i + 1]) for i in range(len(faces))])
    ours = _run(_session(prepared), faces)
    assert ours.shape == (len(faces), 128)
    # Measured ~3e-6 on outputs of up to ~4: only the order of float sums differs.
    assert np.abs(ours - reference).max() < 2e-5
    # The faces are different enough that this does not compare near-identical outputs.
    assert np.abs(reference[0] - reference[2]).max() > 0.5


@pytest.mark.models
def test_a_batch_of_three_equals_three_single_runs(prepared: onnx.ModelProto, faces: Batch) -> None:
    session = _session(prepared)
    batch = _run(session, faces[:3])
    singles = np.concatenate([_run(session, faces[i : i + 1]) for i in range(3)])
    assert batch.shape == (3, 128)
    np.testing.assert_allclose(batch, singles, rtol=0, atol=1e-5)


def _tiny_sface_like_graph() -> onnx.ModelProto:
    """Every construct the converter rewrites, with slopes SFace's own weights may lack:
    block, per-axis and per-tensor dequantisation; BatchNormalization after a Conv,
    before Flatten -> Gemm and after the Gemm; Dropout; PRelu slopes < 0, 0, in (0, 1), > 1."""
    rng = np.random.default_rng(11)
    tensors: list[TensorProto] = []

    def constant(name: str, value: npt.ArrayLike) -> str:
        tensors.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def bn(prefix: str, channels: int) -> list[str]:
        return [
            constant(f"{prefix}_gamma", rng.uniform(0.5, 1.5, channels).astype(np.float32)),
            constant(f"{prefix}_beta", rng.normal(0, 0.2, channels).astype(np.float32)),
            constant(f"{prefix}_mean", rng.normal(0, 0.2, channels).astype(np.float32)),
            constant(f"{prefix}_var", rng.uniform(0.5, 2, channels).astype(np.float32)),
        ]

    q = rng.integers(-128, 128, (4, 27), dtype=np.int8)
    nodes = [
        helper.make_node("Sub", ["data", constant("mean", np.array([127.5], np.float32))], ["centred"]),
        helper.make_node("Mul", ["centred", constant("scale", np.array([1 / 128], np.float32))], ["x"]),
        helper.make_node(
            "DequantizeLinear",
            [
                constant("w_q", q),
                constant("w_s", rng.uniform(0.01, 0.05, (4, 3)).astype(np.float32)),
                constant("w_z", rng.integers(-5, 5, (4, 3), dtype=np.int8)),
            ],
            ["w_flat"],
            axis=1,
            block_size=9,
        ),
        helper.make_node("Reshape", ["w_flat", constant("w_shape", np.array([4, 3, 3, 3]))], ["w"]),
        helper.make_node(
            "Conv", ["x", "w"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[8, 8]
        ),
        helper.make_node("BatchNormalization", ["conv", *bn("bn_conv", 4)], ["bn"], epsilon=1e-3),
        helper.make_node(
            "PRelu",
            ["bn", constant("slope", np.array([-0.8, 0, 0.5, 1.12], np.float32).reshape(4, 1, 1))],
            ["act"],
        ),
        helper.make_node("BatchNormalization", ["act", *bn("bn_before", 4)], ["bn2"], epsilon=2e-5),
        helper.make_node("Dropout", ["bn2"], ["dropped"]),
        helper.make_node("Flatten", ["dropped"], ["flat"], axis=1),
        helper.make_node(
            "DequantizeLinear",
            [
                constant("fc_q", rng.integers(-128, 128, (128, 784), dtype=np.int8)),
                constant("fc_s", rng.uniform(1e-3, 5e-3, 128).astype(np.float32)),
            ],
            ["fc_w"],
            axis=0,
        ),
        helper.make_node(
            "DequantizeLinear",
            [constant("b_q", rng.integers(-128, 128, 128, dtype=np.int8)), constant("b_s", np.float32(1e-3))],
            ["fc_b"],
        ),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["pre_fc1"], transB=1),
        helper.make_node("BatchNormalization", ["pre_fc1", *bn("bn_fc", 128)], ["fc1"], epsilon=2e-5),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 128])],
        tensors,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


@pytest.mark.models
def test_every_rewrite_keeps_the_numbers_of_a_small_graph() -> None:
    tiny = _tiny_sface_like_graph()
    prepared = convert_sface(tiny.SerializeToString())
    assert {node.op_type for node in prepared.graph.node} <= {
        "Sub",
        "Mul",
        "Conv",
        "Relu",
        "Add",
        "Flatten",
        "Gemm",
    }
    chips = np.random.default_rng(5).uniform(0, 255, (2, 3, 112, 112)).astype(np.float32)
    original = _session(tiny)
    reference = np.concatenate([_run(original, chips[i : i + 1]) for i in range(2)])
    ours = _run(_session(prepared), chips)
    assert np.abs(ours - reference).max() < 1e-5 * np.abs(reference).max()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            lambda model: model.graph.node.append(helper.make_node("Sigmoid", ["fc1"], ["s"])), id="op"
        ),
        pytest.param(lambda model: setattr(model.graph.output[0], "name", "embedding"), id="output-name"),
        pytest.param(
            lambda model: model.graph.node[6].input.__setitem__(1, "data"), id="variable-prelu-slope"
        ),
    ],
)
def test_an_unexpected_graph_is_refused(damage: Callable[[onnx.ModelProto], object]) -> None:
    tiny = _tiny_sface_like_graph()
    damage(tiny)
    with pytest.raises(UnexpectedSFaceGraph):
        convert_sface(tiny.SerializeToString())


def test_bytes_that_are_not_onnx_are_refused() -> None:
    with pytest.raises(UnexpectedSFaceGraph, match="not an ONNX model"):
        convert_sface(b"\x00not a model at all")
