"""Convert MediaPipe's face TFLite models (BlazeFace, FaceMesh, iris) to ONNX.

MediaPipe publishes these models only as TFLite flatbuffers, while the service
runs every model with ONNX Runtime.  This module converts them once, during
model preparation, and verifies the result against OpenCV's TFLite reader,
an implementation independent of this one.

Scope is deliberately narrow: only the operators these models use are
implemented, and anything else raises :class:`UnsupportedTFLite` rather than
producing a graph that is silently wrong.

Layout: TFLite tensors are NHWC, while ONNX Runtime's CPU convolutions are
fastest in NCHW.  The ONNX graph keeps the TFLite interface (same input and
output names, shapes and NHWC layout, with a symbolic batch dimension) so it
is a drop-in replacement, but transposes once after the input and computes in
NCHW.  A tensor is transposed back only where NHWC memory order is
observable: RESHAPE and graph outputs.

Two rewrites exist purely for speed on one CPU thread: ONNX Runtime runs
convolutions in a blocked "NCHWc" layout, and any operator it cannot run in
that layout (PRelu, Pad) costs reorders around it and breaks Conv+Add fusion
downstream.  PRELU and channel-only PAD are therefore expressed as exact
convolutions (see :func:`_prelu` and :func:`_pad`), which took FaceMesh from
3.9 to 1.0 ms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import tflite
from onnx import TensorProto, helper, numpy_helper
from tflite.utils import BUILTIN_OPCODE2NAME

from facelab.modelprep.names import unique_name

OPSET = 17
#: Oldest ONNX IR version that supports opset 17, so older runtimes load the model.
IR_VERSION = 8
_NHWC_TO_NCHW = (0, 3, 1, 2)
_NCHW_TO_NHWC = (0, 2, 3, 1)
_BATCH = "N"

_NUMPY_DTYPES: dict[int, str] = {
    tflite.TensorType.FLOAT32: "<f4",
    tflite.TensorType.FLOAT16: "<f2",
    tflite.TensorType.INT32: "<i4",
    tflite.TensorType.INT64: "<i8",
}

#: ONNX equivalents of TFLite's fused activations: (op type, Clip bounds).
_ACTIVATIONS: dict[int, tuple[str, tuple[float, float] | None]] = {
    tflite.ActivationFunctionType.RELU: ("Relu", None),
    tflite.ActivationFunctionType.RELU6: ("Clip", (0.0, 6.0)),
    tflite.ActivationFunctionType.RELU_N1_TO_1: ("Clip", (-1.0, 1.0)),
    tflite.ActivationFunctionType.TANH: ("Tanh", None),
}


class UnsupportedTFLite(ValueError):
    """The TFLite file uses an operator or option this converter does not implement."""


def convert_tflite(data: bytes, *, graph_name: str = "model") -> onnx.ModelProto:
    """Convert a single-subgraph float TFLite model to an ONNX (opset 17) model.

    Inputs and outputs keep their TFLite names, NHWC layout and shapes, except
    that the batch dimension is symbolic ("N").  Raises UnsupportedTFLite for
    operators or options outside the MediaPipe face models' set.
    """
    if not tflite.Model.ModelBufferHasIdentifier(data, 0):
        raise UnsupportedTFLite("not a TFLite flatbuffer (missing TFL3 identifier)")
    model = _Converter(data).convert(graph_name)
    onnx.checker.check_model(model, full_check=True)
    return model


def opencv_reference(data: bytes, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Run the original TFLite file through OpenCV's independent TFLite reader
    (cv2.dnn.readNetFromTFLite) and return each TFLite output by its TFLite
    name, in the TFLite shape (with the batch size of ``inputs``).

    OpenCV takes NCHW blobs and returns 4-D outputs in NCHW, so both are
    transposed here.  OpenCV 5 registers only the last operator's output as
    a network output and refuses a list of names that differs from it, so
    each output is forwarded separately by its TFLite tensor name, which
    OpenCV uses as the layer name.
    """
    graph = tflite.Model.GetRootAs(data, 0).Subgraphs(0)
    net = cv2.dnn.readNetFromTFLite(np.frombuffer(data, np.uint8))
    net.setInput(np.ascontiguousarray(inputs.transpose(_NHWC_TO_NCHW), np.float32))
    outputs: dict[str, np.ndarray] = {}
    for index in graph.OutputsAsNumpy():
        tensor = graph.Tensors(index)
        name = tensor.Name().decode()
        result = net.forward(name)
        shape = (len(inputs), *_shape(tensor)[1:])
        if result.ndim == 4 and len(shape) == 4:
            result = result.transpose(_NCHW_TO_NHWC)
        outputs[name] = result.reshape(shape)
    return outputs


def max_abs_difference(onnx_model: onnx.ModelProto, data: bytes, inputs: np.ndarray) -> dict[str, float]:
    """Per-output maximum absolute difference between ONNX Runtime running
    ``onnx_model`` (default, i.e. fully optimised, session) and OpenCV running
    the TFLite ``data`` on the same NHWC ``inputs``; verifies a conversion."""
    session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    ours = session.run(names, {session.get_inputs()[0].name: inputs.astype(np.float32)})
    reference = opencv_reference(data, inputs)
    return {
        name: float(np.max(np.abs(np.asarray(value) - reference[name])))
        for name, value in zip(names, ours, strict=True)
    }


def _shape(tensor: Any) -> tuple[int, ...]:
    """A TFLite tensor's static shape (the accessor returns 0, not [], for scalars)."""
    return tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()


def _pads(
    padding: int, size: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int]
) -> list[int]:
    """Explicit ONNX pads [top, left, bottom, right] for a TFLite Padding.

    SAME pads so that out = ceil(in / stride), putting the odd pixel at the
    end (bottom/right); explicit pads avoid relying on ONNX auto_pad.
    """
    if padding == tflite.Padding.VALID:
        return [0, 0, 0, 0]
    if padding != tflite.Padding.SAME:
        raise UnsupportedTFLite(f"padding type {padding}")
    begins, ends = [], []
    for n, k, s, d in zip(size, kernel, strides, dilations, strict=True):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


def _per_channel(array: np.ndarray | None, channels: int) -> np.ndarray | None:
    """``array`` as a [channels] vector if, broadcast against NHWC, it varies
    only along channels (shape [..., 1, C] or a scalar); otherwise None."""
    if array is None or math.prod(array.shape[:-1]) != 1 or array.shape[-1:] not in [(), (1,), (channels,)]:
        return None
    return np.broadcast_to(array.reshape(-1), (channels,))


class _Converter:
    """Translates one TFLite subgraph into ONNX nodes, operator by operator.

    Every TFLite tensor may exist in two ONNX layouts: native (the TFLite
    layout, named after the TFLite tensor) and NCHW (4-D tensors only).
    Operators ask for the layout they need with :meth:`value`, which inserts
    a Transpose, or re-lays out a constant, at most once per tensor.
    """

    def __init__(self, data: bytes) -> None:
        self.model = tflite.Model.GetRootAs(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise UnsupportedTFLite(f"{self.model.SubgraphsLength()} subgraphs; exactly one is supported")
        self.graph = self.model.Subgraphs(0)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.values: dict[tuple[int, bool], str] = {}  # (tensor index, is NCHW) -> ONNX name
        self.used_names: set[str] = set()
        # Graph inputs and outputs claim their TFLite names before anything else.
        io = [int(i) for i in (*self.graph.InputsAsNumpy(), *self.graph.OutputsAsNumpy())]
        order = [*io, *(i for i in range(self.graph.TensorsLength()) if i not in io)]
        self.names = {i: self.unique(self.graph.Tensors(i).Name().decode()) for i in order}
        # Constant tensors, in TFLite layout; DEQUANTIZE adds float32 copies.
        self.constants = {
            i: array for i in range(self.graph.TensorsLength()) if (array := self.buffer_data(i)) is not None
        }

    def convert(self, graph_name: str) -> onnx.ModelProto:
        """Build the whole ONNX model."""
        inputs = []
        for i in self.graph.InputsAsNumpy():
            inputs.append(self.value_info(int(i)))
            self.values[(int(i), False)] = self.names[int(i)]
        for k in range(self.graph.OperatorsLength()):
            op = self.graph.Operators(k)
            opcode = self.model.OperatorCodes(op.OpcodeIndex())
            name = BUILTIN_OPCODE2NAME.get(opcode.BuiltinCode(), f"builtin operator {opcode.BuiltinCode()}")
            handler = _HANDLERS.get(name)
            if handler is None:
                if name == "CUSTOM":
                    name = f"CUSTOM {opcode.CustomCode().decode()!r}"
                raise UnsupportedTFLite(f"operator {name} (operator #{k}) is not supported")
            handler(self, op)
        outputs = []
        for i in self.graph.OutputsAsNumpy():
            self.value(int(i), nchw=False)
            outputs.append(self.value_info(int(i)))
        graph = helper.make_graph(self.nodes, graph_name, inputs, outputs, self.initializers)
        return helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            ir_version=IR_VERSION,
            producer_name="identity.tflite_onnx",
        )

    # --- TFLite accessors -------------------------------------------------

    def shape(self, index: int) -> tuple[int, ...]:
        return _shape(self.graph.Tensors(index))

    def buffer_data(self, index: int) -> np.ndarray | None:
        """The constant data stored in the file for a tensor, if any."""
        tensor = self.graph.Tensors(index)
        buffer = self.model.Buffers(tensor.Buffer())
        if buffer is None or buffer.DataLength() == 0:
            return None
        dtype = _NUMPY_DTYPES.get(tensor.Type())
        if dtype is None:
            raise UnsupportedTFLite(f"constant {self.names[index]} has TFLite tensor type {tensor.Type()}")
        return buffer.DataAsNumpy().view(dtype).reshape(_shape(tensor)).copy()

    def constant(self, index: int) -> np.ndarray:
        if index not in self.constants:
            raise UnsupportedTFLite(f"tensor {self.names[index]} must be constant")
        return self.constants[index]

    def value_info(self, index: int) -> onnx.ValueInfoProto:
        """Graph input/output declaration: float32, TFLite shape with a symbolic batch."""
        if self.graph.Tensors(index).Type() != tflite.TensorType.FLOAT32:
            raise UnsupportedTFLite(f"graph input/output {self.names[index]} is not float32")
        shape: list[int | str] = [*self.shape(index)]
        if shape:
            shape[0] = _BATCH
        return helper.make_tensor_value_info(self.names[index], TensorProto.FLOAT, shape)

    # --- ONNX graph building ---------------------------------------------

    def unique(self, name: str) -> str:
        """Reserve a graph-wide unique ONNX name derived from ``name``."""
        return unique_name(name, self.used_names)

    def node(self, op_type: str, inputs: Sequence[str], output: str, **attrs: Any) -> None:
        """Append a single-output node, named after its (unique) output."""
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=f"{output}/{op_type}", **attrs))

    def initializer(self, name: str, array: np.ndarray) -> str:
        unique = self.unique(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), unique))
        return unique

    def value(self, index: int, nchw: bool) -> str:
        """ONNX name of a TFLite tensor in the requested layout, converting once if needed."""
        key = (index, nchw)
        if key in self.values:
            return self.values[key]
        base = self.names[index]
        if index in self.constants:
            array = self.constants[index]
            if nchw:  # broadcast like TFLite (align trailing axes), then move channels
                if array.ndim > 4:
                    raise UnsupportedTFLite(f"cannot use {base} of rank {array.ndim} in NCHW")
                array = array.reshape((1,) * (4 - array.ndim) + array.shape).transpose(_NHWC_TO_NCHW)
            name = self.initializer(f"{base}_nchw" if nchw else base, array)
        elif (index, not nchw) in self.values:
            name = self.unique(f"{base}_nchw") if nchw else base
            perm = _NHWC_TO_NCHW if nchw else _NCHW_TO_NHWC
            self.node("Transpose", [self.values[(index, not nchw)]], name, perm=perm)
        else:
            raise UnsupportedTFLite(f"tensor {base} is read before any operator produces it")
        self.values[key] = name
        return name

    def emit(
        self,
        op_type: str,
        inputs: Sequence[str],
        output: int,
        nchw: bool,
        fused: int = tflite.ActivationFunctionType.NONE,
        **attrs: Any,
    ) -> None:
        """Append the node computing TFLite tensor ``output``, plus its fused activation."""
        name = self.unique(f"{self.names[output]}_nchw") if nchw else self.names[output]
        self.values[(output, nchw)] = name
        if fused == tflite.ActivationFunctionType.NONE:
            self.node(op_type, inputs, name, **attrs)
            return
        if fused not in _ACTIVATIONS:
            raise UnsupportedTFLite(f"fused activation {fused} on {self.names[output]}")
        activation, bounds = _ACTIVATIONS[fused]
        preactivation = self.unique(f"{name}_preact")
        self.node(op_type, inputs, preactivation, **attrs)
        bound_names = [self.initializer(f"{name}_clip", np.array(b, np.float32)) for b in bounds or ()]
        self.node(activation, [preactivation, *bound_names], name)

    def channel_scale(self, source: str, scale: np.ndarray, output: str) -> str:
        """Append ``output = source * scale[channel]`` (NCHW) as a depthwise 1x1 Conv."""
        weight = self.initializer(f"{output}_w", scale.astype(np.float32).reshape(-1, 1, 1, 1))
        name = self.unique(output)
        self.node("Conv", [source, weight], name, kernel_shape=[1, 1], group=len(scale))
        return name

    def elementwise_nchw(self, inputs: Sequence[int], output: int) -> bool:
        """Whether an elementwise op can run in NCHW: every variable operand is
        4-D (constants are re-laid out to broadcast)."""
        return len(self.shape(output)) == 4 and all(
            i in self.constants or len(self.shape(i)) == 4 for i in inputs
        )


def _options(op: Any, options_class: Any, required: bool = True) -> Any:
    """The op's builtin options table, or None if absent and not required."""
    table = op.BuiltinOptions()
    if table is None:
        if required:
            raise UnsupportedTFLite(f"operator without {options_class.__name__}")
        return None
    options = options_class()
    options.Init(table.Bytes, table.Pos)
    return options


def _io(op: Any) -> tuple[list[int], list[int]]:
    return [int(i) for i in op.InputsAsNumpy()], [int(i) for i in op.OutputsAsNumpy()]


def _dequantize(c: _Converter, op: Any) -> None:
    """Fold float16 weights into float32 constants; no node is emitted."""
    (x,), (y,) = _io(op)
    if c.graph.Tensors(x).Type() != tflite.TensorType.FLOAT16:
        raise UnsupportedTFLite(f"DEQUANTIZE of {c.names[x]} is not float16 -> float32")
    c.constants[y] = c.constant(x).astype(np.float32)


def _convolution(c: _Converter, op: Any, depthwise: bool) -> None:
    """CONV_2D and DEPTHWISE_CONV_2D as ONNX Conv (depthwise = one group per input channel)."""
    inputs, (y,) = _io(op)
    x, w, bias = inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else -1
    options = _options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
    kernel = c.constant(w)  # conv: [O, kh, kw, I]; depthwise: [1, kh, kw, C * multiplier]
    _, height, width, channels = c.shape(x)
    # Depthwise output channel c*multiplier+m reads input channel c, which is
    # exactly ONNX grouped-conv order, so the multiplier needs no reordering.
    weight = kernel.transpose(3, 0, 1, 2) if depthwise else kernel.transpose(_NHWC_TO_NCHW)
    group = channels if depthwise else channels // kernel.shape[3]
    strides = [options.StrideH(), options.StrideW()]
    dilations = [options.DilationHFactor(), options.DilationWFactor()]
    operands = [c.value(x, nchw=True), c.initializer(f"{c.names[w]}_oihw", weight)]
    if bias >= 0:
        operands.append(c.value(bias, nchw=False))
    c.emit(
        "Conv",
        operands,
        y,
        nchw=True,
        fused=options.FusedActivationFunction(),
        kernel_shape=list(kernel.shape[1:3]),
        strides=strides,
        dilations=dilations,
        group=group,
        pads=_pads(options.Padding(), (height, width), kernel.shape[1:3], strides, dilations),
    )


def _max_pool(c: _Converter, op: Any) -> None:
    """MAX_POOL_2D; ONNX MaxPool ignores padded cells, as TFLite does."""
    (x,), (y,) = _io(op)
    options = _options(op, tflite.Pool2DOptions)
    kernel = [options.FilterHeight(), options.FilterWidth()]
    strides = [options.StrideH(), options.StrideW()]
    c.emit(
        "MaxPool",
        [c.value(x, nchw=True)],
        y,
        nchw=True,
        fused=options.FusedActivationFunction(),
        kernel_shape=kernel,
        strides=strides,
        pads=_pads(options.Padding(), c.shape(x)[1:3], kernel, strides, [1, 1]),
    )


def _add(c: _Converter, op: Any) -> None:
    inputs, (y,) = _io(op)
    nchw = c.elementwise_nchw(inputs, y)
    options = _options(op, tflite.AddOptions, required=False)
    fused = options.FusedActivationFunction() if options else tflite.ActivationFunctionType.NONE
    c.emit("Add", [c.value(i, nchw) for i in inputs], y, nchw, fused=fused)


def _relu(c: _Converter, op: Any) -> None:
    (x,), (y,) = _io(op)
    nchw = c.elementwise_nchw([x], y)
    c.emit("Relu", [c.value(x, nchw)], y, nchw)


def _prelu(c: _Converter, op: Any) -> None:
    """PRELU.  With a constant per-channel alpha (MediaPipe's case) it becomes
    x + (1 - alpha) * relu(-x), both scalings being depthwise 1x1 Convs.

    The identity holds for any alpha; the form matters because ONNX Runtime's
    PRelu is a slow broadcasting kernel outside the NCHWc layout (2.6 of
    FaceMesh's 3.9 ms), whereas these Convs stay in NCHWc and fuse into
    Conv+Relu and Conv+Add.
    """
    (x, alpha), (y,) = _io(op)
    shape = c.shape(x)
    slope = _per_channel(c.constants.get(alpha), shape[-1]) if len(shape) == 4 else None
    if slope is None:
        nchw = c.elementwise_nchw([x, alpha], y)
        c.emit("PRelu", [c.value(x, nchw), c.value(alpha, nchw)], y, nchw)
        return
    source = c.value(x, nchw=True)
    negated = c.channel_scale(source, -np.ones_like(slope), f"{c.names[y]}_neg")
    negative_part = c.unique(f"{c.names[y]}_relu_neg")
    c.node("Relu", [negated], negative_part)
    scaled = c.channel_scale(negative_part, 1 - slope, f"{c.names[y]}_scaled")
    c.emit("Add", [source, scaled], y, nchw=True)


def _pad(c: _Converter, op: Any) -> None:
    """PAD with zeros.

    Padding only the channel axis (the "channel_padding" before residual Adds
    in all four models) becomes an exact 1x1 Conv with an identity-embedding
    weight, which stays in ONNX Runtime's NCHWc layout where Pad would not.
    Other paddings use Pad, with the [rank, 2] paddings permuted for NCHW.
    """
    (x, paddings), (y,) = _io(op)
    shape = c.shape(x)
    widths = c.constant(paddings).astype(np.int64)
    if len(shape) == 4 and not widths[:3].any():
        before, after = widths[3]
        weight = np.eye(before + shape[3] + after, shape[3], -before, np.float32)[:, :, None, None]
        c.emit(
            "Conv",
            [c.value(x, nchw=True), c.initializer(f"{c.names[y]}_embed", weight)],
            y,
            nchw=True,
            kernel_shape=[1, 1],
        )
        return
    nchw = len(shape) == 4
    if nchw:
        widths = widths[list(_NHWC_TO_NCHW)]
    pads = c.initializer(f"{c.names[paddings]}_onnx", np.concatenate([widths[:, 0], widths[:, 1]]))
    c.emit("Pad", [c.value(x, nchw), pads], y, nchw)


def _reshape(c: _Converter, op: Any) -> None:
    """RESHAPE in TFLite (NHWC) memory order, to the output tensor's static shape.

    A leading 1 that carries the input's batch of 1 becomes 0 (ONNX "copy
    this dimension") so the symbolic batch dimension flows through.
    """
    inputs, (y,) = _io(op)
    x = inputs[0]  # the optional shape operand is redundant with the static output shape
    target = np.array(c.shape(y), np.int64)
    if target[:1].tolist() == [1] and c.shape(x)[:1] == (1,):
        target[0] = 0
    shape = c.initializer(f"{c.names[y]}_shape", target)
    c.emit("Reshape", [c.value(x, nchw=False), shape], y, nchw=False)


def _concatenation(c: _Converter, op: Any) -> None:
    inputs, (y,) = _io(op)
    options = _options(op, tflite.ConcatenationOptions)
    axis = options.Axis() % len(c.shape(y))
    nchw = c.elementwise_nchw(inputs, y)
    c.emit(
        "Concat",
        [c.value(i, nchw) for i in inputs],
        y,
        nchw,
        fused=options.FusedActivationFunction(),
        axis=_NHWC_TO_NCHW.index(axis) if nchw else axis,
    )


def _resize_bilinear(c: _Converter, op: Any) -> None:
    """RESIZE_BILINEAR as ONNX Resize.

    TFLite's two flags select the source coordinate of output pixel i:
    align_corners uses i * (in - 1) / (out - 1); half_pixel_centers uses
    (i + 0.5) * in / out - 0.5 (clamped at the border, like ONNX "linear");
    neither uses i * in / out.

    Scales, not sizes, are given: sizes would have to spell out the symbolic
    batch dimension, and ONNX Runtime's NCHWc Upsample needs constant integer
    scales.  Both ONNX shape inference and ONNX Runtime size the output as
    floor(in * scale), so a float32 scale that rounds below out / in is
    raised by one ulp (integer scales are exact and stay integers).
    """
    (x, size), (y,) = _io(op)
    options = _options(op, tflite.ResizeBilinearOptions, required=False)
    align_corners = bool(options and options.AlignCorners())
    half_pixel = bool(options and options.HalfPixelCenters())
    if align_corners and half_pixel:
        raise UnsupportedTFLite("RESIZE_BILINEAR with both align_corners and half_pixel_centers")
    mode = "align_corners" if align_corners else "half_pixel" if half_pixel else "asymmetric"
    in_size = np.array(c.shape(x)[1:3], np.float64)
    out_size = c.constant(size).astype(np.float64)
    ratio = (out_size / in_size).astype(np.float32)
    ratio = np.where(in_size * ratio < out_size, np.nextafter(ratio, np.float32(np.inf)), ratio)
    scales = np.concatenate([np.ones(2, np.float32), ratio])
    c.emit(
        "Resize",
        [c.value(x, nchw=True), "", c.initializer(f"{c.names[y]}_scales", scales)],
        y,
        nchw=True,
        mode="linear",
        coordinate_transformation_mode=mode,
    )


_HANDLERS: dict[str, Callable[[_Converter, Any], None]] = {
    "DEQUANTIZE": _dequantize,
    "CONV_2D": lambda c, op: _convolution(c, op, depthwise=False),
    "DEPTHWISE_CONV_2D": lambda c, op: _convolution(c, op, depthwise=True),
    "MAX_POOL_2D": _max_pool,
    "ADD": _add,
    "RELU": _relu,
    "PRELU": _prelu,
    "PAD": _pad,
    "RESHAPE": _reshape,
    "CONCATENATION": _concatenation,
    "RESIZE_BILINEAR": _resize_bilinear,
}
