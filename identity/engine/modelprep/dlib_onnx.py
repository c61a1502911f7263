"""Rebuild dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) as ONNX.

The engine runs every model through onnxruntime, so the dlib descriptor network is
converted once, offline, instead of shipping dlib itself. The .dat file is dlib's own
serialisation of ``anet_type`` from dlib's ``dnn_face_recognition_ex.cpp``; it is read
structurally, following dlib/serialize.h, dlib/dnn/core.h and dlib/dnn/layers.h, and
every field is checked against that architecture, so a different or damaged file is
rejected instead of silently producing wrong descriptors.

How dlib nests and writes the network (``add_loss_layer``/``add_layer`` serialise their
version, then the whole sub-network, then their own layer): the file holds the loss
layer, then one version number per layer from the output down to the input, then the
input layer, then each layer's parameters from the input back up to the output.
"""

from __future__ import annotations

import importlib.metadata
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

MODEL_FILE_NAME = "dlib_face_recognition_resnet_model_v1.dat"
CHIP_SIZE = 150
EMBEDDING_SIZE = 128
OPSET = 17

FloatArray = npt.NDArray[np.float32]


class UnexpectedDlibFile(ValueError):
    """The bytes are not dlib's face recognition ResNet as serialised by dlib."""


def find_dlib_resnet_model() -> Path:
    """Path of the .dat shipped by the face-recognition-models distribution.

    Located through the distribution's file list because importing the package would
    pull in pkg_resources, and the path must not depend on where the venv lives.
    """
    try:
        files = importlib.metadata.files("face-recognition-models") or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise FileNotFoundError("face-recognition-models is not installed") from exc
    for packaged in files:
        if packaged.name == MODEL_FILE_NAME:
            return Path(str(packaged.locate()))
    raise FileNotFoundError(f"{MODEL_FILE_NAME} is not part of face-recognition-models")


# ---------------------------------------------------------------------------------------
# Expected architecture


@dataclass(frozen=True)
class _Spec:
    """One dlib layer of anet_type: its kind and the template arguments that matter.

    con: (filters, kernel, stride); max_pool/avg_pool: (window, stride), window 0 meaning
    the whole input; tag/skip/add_prev: (tag id,); fc: (outputs,).
    """

    kind: str
    args: tuple[int, ...] = ()


_RELU = _Spec("relu")
_AFFINE = _Spec("affine")


def _block(filters: int, stride: int) -> list[_Spec]:
    """dlib's ``block``: con(stride) -> affine -> relu -> con(1) -> affine, output first."""
    return [
        _AFFINE,
        _Spec("con", (filters, 3, 1)),
        _RELU,
        _AFFINE,
        _Spec("con", (filters, 3, stride)),
    ]


def _ares(filters: int) -> list[_Spec]:
    """dlib's ``ares``: relu(block(x) + x), output first."""
    return [_RELU, _Spec("add_prev", (1,)), *_block(filters, 1), _Spec("tag", (1,))]


def _ares_down(filters: int) -> list[_Spec]:
    """dlib's ``ares_down``: relu(block_stride2(x) + avg_pool2x2(x)), output first."""
    return [
        _RELU,
        _Spec("add_prev", (2,)),
        _Spec("avg_pool", (2, 2)),
        _Spec("skip", (1,)),
        _Spec("tag", (2,)),
        *_block(filters, 2),
        _Spec("tag", (1,)),
    ]


def _level(filters: int, blocks: int, down: bool) -> list[_Spec]:
    """dlib's ``alevelN``: ``blocks`` ares on top of one ares_down when ``down``, output first."""
    return _ares(filters) * blocks + (_ares_down(filters) if down else [])


def _anet_layers() -> list[_Spec]:
    """anet_type's layers below the loss, from the output down to the input conv."""
    return [
        _Spec("fc", (EMBEDDING_SIZE,)),
        _Spec("avg_pool", (0, 1)),
        *_level(256, 0, down=True),
        *_level(256, 2, down=True),
        *_level(128, 2, down=True),
        *_level(64, 3, down=True),
        *_level(32, 3, down=False),
        _Spec("max_pool", (3, 2)),
        _RELU,
        _AFFINE,
        _Spec("con", (32, 7, 2)),
    ]


def _default_padding(window: int, stride: int) -> int:
    """dlib's default con/pool padding: "same" for stride 1, none otherwise."""
    return window // 2 if stride == 1 else 0


# ---------------------------------------------------------------------------------------
# dlib serialisation primitives


class _Reader:
    """Cursor over the primitives of dlib/serialize.h and dlib/dnn/tensor.h."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def fail(self, message: str) -> UnexpectedDlibFile:
        return UnexpectedDlibFile(f"{message} (at byte {self._pos})")

    def at_end(self) -> bool:
        return self._pos == len(self._data)

    def _take(self, count: int) -> bytes:
        if self._pos + count > len(self._data):
            raise self.fail(f"file ends while reading {count} bytes")
        chunk = self._data[self._pos : self._pos + count]
        self._pos += count
        return chunk

    def read_int(self) -> int:
        """A control byte (bit 7: negative, bits 0-3: byte count), then |value| little-endian."""
        control = self._take(1)[0]
        size = control & 0x0F
        if control & 0x70 or size > 8:
            raise self.fail(f"invalid integer control byte 0x{control:02x}")
        value = int.from_bytes(self._take(size), "little")
        return -value if control & 0x80 else value

    def read_float(self) -> float:
        """dlib's portable float: integer mantissa, then integer power-of-two exponent."""
        mantissa, exponent = self.read_int(), self.read_int()
        try:
            return math.ldexp(mantissa, exponent)
        except OverflowError as exc:
            raise self.fail("floating point value out of range") from exc

    def read_bool(self) -> bool:
        byte = self._take(1)
        if byte not in (b"0", b"1"):
            raise self.fail(f"invalid bool byte {byte!r}")
        return byte == b"1"

    def read_string(self) -> str:
        length = self.read_int()
        if not 0 <= length <= 64:  # dlib's layer names are short identifiers
            raise self.fail(f"implausible string length {length}")
        raw = self._take(length)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise self.fail("layer name is not ASCII") from exc

    def expect_int(self, expected: int | tuple[int, ...], what: str) -> int:
        allowed = expected if isinstance(expected, tuple) else (expected,)
        value = self.read_int()
        if value not in allowed:
            raise self.fail(f"{what} is {value}, expected {' or '.join(map(str, allowed))}")
        return value

    def expect_string(self, expected: str) -> None:
        name = self.read_string()
        if name != expected:
            raise self.fail(f"found layer {name!r}, expected {expected!r}")

    def read_tensor(self) -> FloatArray:
        """resizable_tensor version 2: four dimensions, then raw little-endian float32."""
        self.expect_int(2, "tensor version")
        shape = tuple(self.read_int() for _ in range(4))
        if min(shape) < 0:
            raise self.fail(f"negative tensor dimensions {shape}")
        values = np.frombuffer(self._take(4 * math.prod(shape)), dtype="<f4")
        if not np.isfinite(values).all():
            raise self.fail("tensor holds non-finite values")
        return values.astype(np.float32).reshape(shape)

    def read_alias_shape(self) -> tuple[int, ...]:
        """alias_tensor: only the shape of a view into the layer's parameter tensor."""
        self.expect_int(1, "alias_tensor version")
        return tuple(self.read_int() for _ in range(4))

    def skip_floats(self, count: int) -> None:
        """Skip training-only settings (learning-rate/weight-decay multipliers, loss margins)."""
        for _ in range(count):
            self.read_float()


# ---------------------------------------------------------------------------------------
# Layer parsing


@dataclass
class _Layer:
    """A parsed layer: its expected spec and its parameters, shaped as dlib uses them."""

    spec: _Spec
    params: dict[str, FloatArray] = field(default_factory=dict)


def _split_params(
    reader: _Reader, flat: FloatArray, shapes: dict[str, tuple[int, ...]]
) -> dict[str, FloatArray]:
    """Cut a layer's single parameter tensor into its alias views, in order."""
    sizes = [math.prod(shape) for shape in shapes.values()]
    if flat.size != sum(sizes):
        raise reader.fail(f"parameter tensor has {flat.size} values, views need {sum(sizes)}")
    parts = np.split(flat.reshape(-1), np.cumsum(sizes)[:-1])
    views = zip(shapes.items(), parts, strict=True)
    return {name: part.reshape(shape) for (name, shape), part in views}


def _read_con(reader: _Reader, spec: _Spec) -> dict[str, FloatArray]:
    filters, kernel, stride = spec.args
    pad = _default_padding(kernel, stride)
    reader.expect_string("con_4")
    flat = reader.read_tensor()
    expected = (filters, kernel, kernel, stride, stride, pad, pad)
    found = tuple(reader.read_int() for _ in range(7))
    if found != expected:
        raise reader.fail(f"con (filters, nr, nc, strides, paddings) {found}, expected {expected}")
    filter_shape, bias_shape = reader.read_alias_shape(), reader.read_alias_shape()
    reader.skip_floats(4)
    if filter_shape[0] != filters or filter_shape[2:] != (kernel, kernel):
        raise reader.fail(f"con filter shape {filter_shape}")
    if bias_shape != (1, filters, 1, 1):
        raise reader.fail(f"con bias shape {bias_shape}")
    return _split_params(reader, flat, {"weight": filter_shape, "bias": (filters,)})


def _read_affine(reader: _Reader) -> dict[str, FloatArray]:
    reader.expect_string("affine_")
    flat = reader.read_tensor()
    gamma_shape, beta_shape = reader.read_alias_shape(), reader.read_alias_shape()
    reader.expect_int(0, "affine mode (CONV_MODE)")
    channels = gamma_shape[1]
    if gamma_shape != (1, channels, 1, 1) or beta_shape != gamma_shape:
        raise reader.fail(f"affine shapes {gamma_shape}, {beta_shape}")
    return _split_params(reader, flat, {"gamma": (channels,), "beta": (channels,)})


def _read_fc(reader: _Reader, spec: _Spec) -> dict[str, FloatArray]:
    reader.expect_string("fc_2")
    reader.expect_int(spec.args[0], "fc outputs")
    inputs = reader.read_int()
    flat = reader.read_tensor()
    weight_shape = reader.read_alias_shape()
    reader.read_alias_shape()  # the unused bias view of an fc_no_bias
    reader.expect_int(1, "fc bias mode (FC_NO_BIAS)")
    reader.skip_floats(4)
    if weight_shape != (inputs, spec.args[0], 1, 1):
        raise reader.fail(f"fc weight shape {weight_shape}")
    return _split_params(reader, flat, {"weight": (inputs, spec.args[0])})


def _read_pool(reader: _Reader, spec: _Spec) -> None:
    window, stride = spec.args
    pad = _default_padding(window, stride)
    reader.expect_string(f"{spec.kind}_2")
    found = tuple(reader.read_int() for _ in range(6))
    expected = (window, window, stride, stride, pad, pad)
    if found != expected:
        raise reader.fail(f"{spec.kind} (nr, nc, strides, paddings) {found}, expected {expected}")


def _read_details(reader: _Reader, spec: _Spec) -> _Layer:
    """One layer's own serialisation (its ``serialize(const xxx_&)`` in layers.h)."""
    if spec.kind == "con":
        return _Layer(spec, _read_con(reader, spec))
    if spec.kind == "affine":
        return _Layer(spec, _read_affine(reader))
    if spec.kind == "fc":
        return _Layer(spec, _read_fc(reader, spec))
    if spec.kind in ("max_pool", "avg_pool"):
        _read_pool(reader, spec)
    else:
        reader.expect_string(f"{spec.kind}_")  # relu_, add_prev_: no parameters
    return _Layer(spec)


def _skip_add_layer_state(reader: _Reader, version: int) -> None:
    """Skip what add_layer stores after its layer: 3 flags, x_grad, cached_output[, params_grad]."""
    for _ in range(3):
        reader.read_bool()
    for _ in range(3 if version == 2 else 2):
        reader.read_tensor()


def _parse(data: bytes) -> tuple[FloatArray, list[_Layer]]:
    """Return the input layer's per-channel means and the layers from input to output."""
    reader = _Reader(data)
    reader.expect_int(1, "add_loss_layer version")
    loss = reader.read_string()
    if loss == "loss_metric_2":
        reader.skip_floats(2)
    elif loss != "loss_metric_":
        raise reader.fail(f"loss layer {loss!r}, expected loss_metric_")

    *upper, stem_con = _anet_layers()
    versions = [
        reader.expect_int(1 if spec.kind in ("tag", "skip") else (1, 2), f"{spec.kind} version")
        for spec in upper
    ]

    # The add_layer directly on the input layer has its own, longer format.
    input_version = reader.expect_int((2, 3), "input add_layer version")
    reader.expect_string("input_rgb_image_sized")
    means = np.array([reader.read_float() for _ in range(3)], dtype=np.float32)
    reader.expect_int(CHIP_SIZE, "input rows")
    reader.expect_int(CHIP_SIZE, "input columns")
    layers = [_read_details(reader, stem_con)]
    for _ in range(3):
        reader.read_bool()
    for _ in range(3):  # x_grad, cached_output, grad_final
        reader.read_tensor()
    if input_version == 3:
        reader.read_int()  # sample expansion factor

    for spec, version in zip(reversed(upper), reversed(versions), strict=True):
        if spec.kind in ("tag", "skip"):  # serialised as a version number only
            layers.append(_Layer(spec))
            continue
        layers.append(_read_details(reader, spec))
        _skip_add_layer_state(reader, version)

    if not reader.at_end():
        raise reader.fail("unexpected data after the network")
    return means, layers


# ---------------------------------------------------------------------------------------
# ONNX graph


class _GraphBuilder:
    """Replays dlib's forward pass layer by layer, tracking each tensor's (C, H, W)."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.shapes: dict[str, tuple[int, int, int]] = {}
        self._counts: dict[str, int] = {}

    def _name(self, base: str) -> str:
        self._counts[base] = self._counts.get(base, 0) + 1
        return f"{base}_{self._counts[base]}"

    def constant(self, base: str, value: npt.NDArray[np.generic]) -> str:
        name = self._name(base)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], shape: tuple[int, int, int], **attrs: Any) -> str:
        name = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        self.shapes[name] = shape
        return name

    def conv(self, x: str, con: _Layer, affine: _Layer) -> str:
        """Conv with the following affine (gamma * y + beta per channel) folded in.

        The fold is computed in float64 so that it adds no rounding beyond the final cast.
        """
        _, kernel, stride = con.spec.args
        pad = _default_padding(kernel, stride)
        channels, height, width = self.shapes[x]
        weight, bias = con.params["weight"], con.params["bias"]
        if weight.shape[1] != channels:
            raise UnexpectedDlibFile(f"con expects {weight.shape[1]} channels, gets {channels}")
        gamma = affine.params["gamma"].astype(np.float64)
        if gamma.shape != bias.shape:
            raise UnexpectedDlibFile(f"affine has {gamma.size} channels, con {bias.size}")
        folded_w = (weight * gamma[:, None, None, None]).astype(np.float32)
        folded_b = (bias * gamma + affine.params["beta"]).astype(np.float32)
        size = (height + 2 * pad - kernel) // stride + 1, (width + 2 * pad - kernel) // stride + 1
        return self.node(
            "Conv",
            [x, self.constant("conv_w", folded_w), self.constant("conv_b", folded_b)],
            (weight.shape[0], *size),
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=[pad] * 4,
        )

    def pool(self, x: str, spec: _Spec) -> str:
        window, stride = spec.args
        channels, height, width = self.shapes[x]
        if window == 0:
            return self.node("GlobalAveragePool", [x], (channels, 1, 1))
        pad = _default_padding(window, stride)
        size = (height + 2 * pad - window) // stride + 1, (width + 2 * pad - window) // stride + 1
        op = "MaxPool" if spec.kind == "max_pool" else "AveragePool"
        attrs = {"kernel_shape": [window] * 2, "strides": [stride] * 2, "pads": [pad] * 4}
        return self.node(op, [x], (channels, *size), **attrs)

    def pad_to(self, x: str, shape: tuple[int, int, int]) -> str:
        """Zero-pad channels and bottom/right edges, as dlib's tt::add does for unequal sizes."""
        if self.shapes[x] == shape:
            return x
        ends = [target - have for target, have in zip(shape, self.shapes[x], strict=True)]
        pads = self.constant("pads", np.array([0, 0, 0, 0, 0, *ends], dtype=np.int64))
        return self.node("Pad", [x, pads], shape)

    def add(self, a: str, b: str) -> str:
        """dlib's add_prev: the sum over the larger extent of each dimension."""
        shape = (
            max(self.shapes[a][0], self.shapes[b][0]),
            max(self.shapes[a][1], self.shapes[b][1]),
            max(self.shapes[a][2], self.shapes[b][2]),
        )
        return self.node("Add", [self.pad_to(a, shape), self.pad_to(b, shape)], shape)

    def fc(self, x: str, layer: _Layer) -> str:
        weight = layer.params["weight"]
        if weight.shape[0] != math.prod(self.shapes[x]):
            raise UnexpectedDlibFile(f"fc expects {weight.shape[0]} inputs, gets {self.shapes[x]}")
        flat = self.node("Flatten", [x], (weight.shape[0], 1, 1), axis=1)
        return self.node("MatMul", [flat, self.constant("fc_w", weight)], (weight.shape[1], 1, 1))


def _build_graph(means: FloatArray, layers: list[_Layer]) -> onnx.GraphProto:
    builder = _GraphBuilder()
    # dlib's input layer: (pixel - mean) / 256, planar RGB. Transposing first lets the
    # mean broadcast over whole planes, which is much faster than over a trailing axis of 3.
    planar = builder.node("Transpose", ["chip"], (3, CHIP_SIZE, CHIP_SIZE), perm=[0, 3, 1, 2])
    mean = builder.constant("rgb_mean", means.reshape(3, 1, 1))
    centred = builder.node("Sub", [planar, mean], builder.shapes[planar])
    scale = builder.constant("scale", np.array(1 / 256, dtype=np.float32))
    x = builder.node("Mul", [centred, scale], builder.shapes[planar])

    tags: dict[int, str] = {}
    remaining = iter(layers)
    for layer in remaining:
        kind = layer.spec.kind
        if kind == "con":  # in anet_type every con is followed by an affine, folded in here
            x = builder.conv(x, layer, next(remaining))
        elif kind == "relu":
            x = builder.node("Relu", [x], builder.shapes[x])
        elif kind in ("max_pool", "avg_pool"):
            x = builder.pool(x, layer.spec)
        elif kind == "tag":
            tags[layer.spec.args[0]] = x
        elif kind == "skip":
            x = tags[layer.spec.args[0]]
        elif kind == "add_prev":
            x = builder.add(x, tags[layer.spec.args[0]])
        elif kind == "fc":
            x = builder.fc(x, layer)

    builder.nodes[-1].output[0] = "embedding"
    return helper.make_graph(
        builder.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chip", TensorProto.FLOAT, ["N", CHIP_SIZE, CHIP_SIZE, 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", EMBEDDING_SIZE])],
        builder.initializers,
    )


def convert_dlib_resnet(data: bytes) -> onnx.ModelProto:
    """Convert the bytes of ``dlib_face_recognition_resnet_model_v1.dat`` to an ONNX model.

    Input ``chip``: float32 [N, 150, 150, 3], RGB, raw 0..255 values (a dlib face chip).
    Output ``embedding``: float32 [N, 128], dlib's descriptor, not normalised.
    Raises UnexpectedDlibFile when the bytes are not that network.
    """
    means, layers = _parse(data)
    model = helper.make_model(
        _build_graph(means, layers),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="identity.engine.modelprep.dlib_onnx",
        doc_string="dlib_face_recognition_resnet_model_v1 (dlib anet_type), affines folded",
    )
    model.ir_version = 8  # the IR version that introduced opset 17; runtimes widely accept it
    onnx.checker.check_model(model)
    return model


def dlib_reference(dat_path: str, chips: npt.NDArray[np.uint8]) -> FloatArray:
    """Descriptors computed by dlib itself (the independent reference), [N, 128].

    ``chips`` are uint8 RGB 150x150 face chips, [N, 150, 150, 3]. dlib is imported here
    because it is only needed to verify conversions, never to serve them.
    """
    import dlib

    if chips.dtype != np.uint8 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise ValueError(f"expected uint8 chips [N, 150, 150, 3], got {chips.dtype} {chips.shape}")
    model = dlib.face_recognition_model_v1(dat_path)
    return np.array(
        [model.compute_face_descriptor(np.ascontiguousarray(chip)) for chip in chips],
        dtype=np.float32,
    ).reshape(len(chips), EMBEDDING_SIZE)
