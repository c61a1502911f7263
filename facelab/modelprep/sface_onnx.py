"""Turn OpenCV Zoo's SFace recogniser (``face_recognition_sface_2021dec_int8bq.onnx``) into a
float32 ONNX graph that ONNX Runtime loads and runs fast.

The file as shipped stores its weights block-quantised to int8 behind constant
``DequantizeLinear`` nodes, declares 29 graph inputs that nothing reads (ONNX Runtime
1.31 refuses to load it because of them) and fixes the batch size at 1. Every step here
is a rewrite with a float32 result that does not depend on the CPU, so the prepared file
gives the same numbers on every x86-64 machine; ONNX Runtime's own (CPU-specific) fusions
happen at load time, never in the saved file:

- unused graph inputs are removed;
- constant ``DequantizeLinear`` and ``Reshape`` are evaluated ahead of time, exactly as the
  runtime would ((q - zero_point) * scale in float32), into float32 initializers. Running
  the int8 graph is not an option: statically quantised it measured clearly less accurate;
- each ``BatchNormalization`` is folded into the Conv before it or the Gemm around it,
  and the inference-time no-op ``Dropout`` is dropped;
- each ``PRelu`` with a constant per-channel slope becomes x + (1 - a) * Relu(-x), as the
  TFLite converter does: ONNX Runtime's PRelu runs outside its blocked NCHWc convolution
  layout, whereas these depthwise 1x1 Convs stay inside it and fuse with Relu and Add;
- the batch dimension is symbolic ("N").

Anything else in the graph is refused with UnexpectedSFaceGraph rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from faceengine.sface import CHIP_SIZE, EMBEDDING_SIZE, INPUT_NAME, OUTPUT_NAME
from facelab.modelprep.names import unique_name

OPSET = 17
# The IR version that introduced opset 17, as the other converters write: runtimes widely accept it.
IR_VERSION = 8
_BATCH = "N"
# What may be left after the rewrites: each is also in opset 17 with the same meaning.
_PREPARED_OPS = frozenset({"Sub", "Mul", "Conv", "Relu", "Add", "Flatten", "Gemm"})

NOTICE = {
    "license": "Apache-2.0",
    "source": "OpenCV Zoo models/face_recognition_sface/face_recognition_sface_2021dec_int8bq.onnx",
    "credits": "SFace by Yaoyao Zhong et al. (github.com/zhongyy/SFace); ONNX model from OpenCV Zoo",
    "modified": "by FacePortal's sface_onnx.py: int8 weights dequantised to float32, BatchNormalization "
    "folded, PRelu rewritten, unused inputs removed, batch dimension symbolic",
}

Array = npt.NDArray[Any]


class UnexpectedSFaceGraph(ValueError):
    """The ONNX file is not the SFace graph this converter knows how to prepare."""


def without_unused_inputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` minus the graph inputs no node reads: the original graph,
    int8 weights and all, in the form ONNX Runtime agrees to load (the reference)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    read = {name for node in copy.graph.node for name in node.input}
    read |= {output.name for output in copy.graph.output}
    kept = [value for value in copy.graph.input if value.name in read]
    del copy.graph.input[:]
    copy.graph.input.extend(kept)
    return copy


def convert_sface(data: bytes) -> onnx.ModelProto:
    """Prepare the bytes of the shipped SFace ONNX file as a float32 model.

    Input ``data``: float32 [N, 3, 112, 112], RGB, raw 0..255 (an aligned face chip; the
    graph normalises it itself). Output ``fc1``: float32 [N, 128], not normalised.
    """
    try:
        source = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise UnexpectedSFaceGraph(f"not an ONNX model: {exc}") from exc
    graph = _Graph(without_unused_inputs(source).graph)
    graph.fold_constants()
    graph.drop_dropout()
    graph.fold_batch_norms()
    graph.rewrite_prelus()
    model = graph.to_model()
    onnx.checker.check_model(model, full_check=True)
    return model


def dequantize(
    quantized: Array, scale: Array, zero_point: Array | None = None, *, axis: int = 1, block_size: int = 0
) -> Array:
    """ONNX DequantizeLinear: (q - zero_point) * scale, per tensor, per axis or per block.

    Per axis, ``scale`` is 1-D along ``axis``; per block it has the shape of ``quantized``
    except along ``axis``, where each entry covers ``block_size`` consecutive elements (the
    last block may be shorter). The difference is taken in integers and multiplied once in
    float32, which is exactly what ONNX Runtime computes: the result is bit-identical.
    """
    q = np.asarray(quantized).astype(np.int64)
    scale = np.asarray(scale, np.float32)
    zero = np.zeros(scale.shape, np.int64) if zero_point is None else np.asarray(zero_point).astype(np.int64)
    if zero.shape != scale.shape:
        raise UnexpectedSFaceGraph(f"zero point of shape {zero.shape} for scale of shape {scale.shape}")
    if block_size:
        axis %= q.ndim
        expected = tuple(-(-n // block_size) if i == axis else n for i, n in enumerate(q.shape))
        if scale.shape != expected:
            raise UnexpectedSFaceGraph(f"block scale of shape {scale.shape}, expected {expected}")
        block = np.arange(q.shape[axis]) // block_size
        scale, zero = scale.take(block, axis=axis), zero.take(block, axis=axis)
    elif scale.size == 1 and scale.ndim <= 1:
        scale, zero = scale.reshape(()), zero.reshape(())
    else:
        axis %= q.ndim
        if scale.shape != (q.shape[axis],):
            raise UnexpectedSFaceGraph(f"scale of shape {scale.shape} for axis {axis} of {q.shape}")
        along = [-1 if i == axis else 1 for i in range(q.ndim)]
        scale, zero = scale.reshape(along), zero.reshape(along)
    return np.asarray((q - zero).astype(np.float32) * scale, np.float32)


def _reshape(array: Array, shape: Array, allow_zero: bool) -> Array:
    """ONNX Reshape: 0 copies the input's dimension (unless allowzero), -1 is inferred."""
    target = [array.shape[i] if d == 0 and not allow_zero else int(d) for i, d in enumerate(shape.tolist())]
    return array.reshape(target)


def _copy(node: onnx.NodeProto) -> onnx.NodeProto:
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    return copy


def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    return {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}


class _Graph:
    """The SFace graph as a node list plus the values known ahead of time."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.name = graph.name or "sface"
        self.nodes = [_copy(node) for node in graph.node]  # rewritten in place, never the caller's
        self.constants: dict[str, Array] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        variable = [value.name for value in graph.input if value.name not in self.constants]
        if variable != [INPUT_NAME] or [value.name for value in graph.output] != [OUTPUT_NAME]:
            outputs = [value.name for value in graph.output]
            raise UnexpectedSFaceGraph(f"graph inputs {variable} and outputs {outputs}")
        self._names: set[str] = {name for node in self.nodes for name in [node.name, *node.output]}
        self._names |= set(self.constants)

    # --- helpers ---------------------------------------------------------------------------

    def unique(self, base: str) -> str:
        return unique_name(base, self._names)

    def constant(self, name: str) -> Array:
        if name not in self.constants:
            raise UnexpectedSFaceGraph(f"{name} must be a constant")
        return self.constants[name]

    def consumers(self, name: str) -> list[onnx.NodeProto]:
        return [node for node in self.nodes if name in node.input]

    def producer(self, name: str) -> onnx.NodeProto | None:
        return next((node for node in self.nodes if name in node.output), None)

    def only_consumer(self, name: str, op_type: str) -> onnx.NodeProto | None:
        consumers = self.consumers(name)
        if len(consumers) == 1 and consumers[0].op_type == op_type and name != OUTPUT_NAME:
            return consumers[0]
        return None

    def rename_input(self, old: str, new: str) -> None:
        for node in self.nodes:
            for i, name in enumerate(node.input):
                if name == old:
                    node.input[i] = new

    def remove(self, node: onnx.NodeProto, replaced_by: str) -> None:
        """Drop a node whose (first) output equals ``replaced_by``'s value."""
        output = node.output[0]
        self.nodes.remove(node)
        if output == OUTPUT_NAME:  # keep the graph's output name: rename the producer instead
            producer = self.producer(replaced_by)
            if producer is None:
                raise UnexpectedSFaceGraph(f"{OUTPUT_NAME} would become a constant")
            producer.output[0] = OUTPUT_NAME
            self.rename_input(replaced_by, OUTPUT_NAME)
        else:
            self.rename_input(output, replaced_by)

    def new_node(self, op_type: str, inputs: Iterable[str], output: str, **attrs: Any) -> onnx.NodeProto:
        return helper.make_node(
            op_type, list(inputs), [output], name=self.unique(f"{output}/{op_type}"), **attrs
        )

    def add_constant(self, base: str, value: Array) -> str:
        name = self.unique(base)
        self.constants[name] = np.ascontiguousarray(value)
        return name

    # --- passes ----------------------------------------------------------------------------

    def fold_constants(self) -> None:
        """Evaluate Constant, DequantizeLinear and Reshape nodes whose inputs are all known."""
        kept = []
        for node in self.nodes:
            known = all(name in self.constants for name in node.input if name)
            if node.op_type == "Constant":
                self.constants[node.output[0]] = numpy_helper.to_array(_attributes(node)["value"])
            elif known and node.op_type == "DequantizeLinear":
                attrs = _attributes(node)
                values = [self.constants[name] if name else None for name in node.input]
                values += [None] * (3 - len(values))
                quantized, scale, zero_point = values
                assert quantized is not None and scale is not None
                self.constants[node.output[0]] = dequantize(
                    quantized,
                    scale,
                    zero_point,
                    axis=int(attrs.get("axis", 1)),
                    block_size=int(attrs.get("block_size", 0)),
                )
            elif known and node.op_type == "Reshape":
                allow_zero = bool(_attributes(node).get("allowzero", 0))
                array, shape = (self.constants[name] for name in node.input)
                self.constants[node.output[0]] = _reshape(array, shape, allow_zero)
            else:
                kept.append(node)
        self.nodes = kept

    def drop_dropout(self) -> None:
        """Dropout is the identity at inference; only its mask output would differ."""
        for node in [n for n in self.nodes if n.op_type == "Dropout"]:
            if len(node.output) > 1 and node.output[1] and self.consumers(node.output[1]):
                raise UnexpectedSFaceGraph("a Dropout mask is used")
            self.remove(node, node.input[0])

    def fold_batch_norms(self) -> None:
        """Fold each BatchNormalization into the Conv or Gemm it scales.

        Three places occur in SFace: after a Conv (scale the Conv's output channels),
        after the final Gemm (scale its output features) and before Flatten -> Gemm
        (scale the Gemm's input columns, one channel covering H*W columns). Computed in
        float64 and rounded once to float32.
        """
        for bn in [n for n in self.nodes if n.op_type == "BatchNormalization"]:
            if len(bn.output) != 1:
                raise UnexpectedSFaceGraph("BatchNormalization in training mode")
            gamma, beta, mean, var = (self.constant(name).astype(np.float64) for name in bn.input[1:5])
            scale = gamma / np.sqrt(var + float(_attributes(bn).get("epsilon", 1e-5)))
            shift = beta - mean * scale
            producer = self.producer(bn.input[0])
            flatten = self.only_consumer(bn.output[0], "Flatten")
            gemm = self.only_consumer(flatten.output[0], "Gemm") if flatten is not None else None
            if producer is not None and producer.op_type in ("Conv", "Gemm") and self._sole_use(bn):
                self._scale_outputs(producer, scale, shift)
            elif flatten is not None and gemm is not None and _attributes(flatten).get("axis", 1) == 1:
                self._scale_gemm_inputs(gemm, scale, shift)
            else:
                raise UnexpectedSFaceGraph(f"cannot fold BatchNormalization {bn.name or bn.output[0]}")
            self.remove(bn, bn.input[0])

    def _sole_use(self, bn: onnx.NodeProto) -> bool:
        return len(self.consumers(bn.input[0])) == 1 and bn.input[0] != OUTPUT_NAME

    def _scale_outputs(self, node: onnx.NodeProto, scale: Array, shift: Array) -> None:
        """Conv or Gemm output channel c becomes y[c] * scale[c] + shift[c]."""
        weight = self.constant(node.input[1]).astype(np.float64)
        if node.op_type == "Gemm":
            attrs = _attributes(node)
            if attrs.get("transB") != 1 or attrs.get("alpha", 1.0) != 1 or attrs.get("beta", 1.0) != 1:
                raise UnexpectedSFaceGraph("only Gemm(alpha=1, beta=1, transB=1) is folded")
        if weight.shape[0] != scale.size:
            raise UnexpectedSFaceGraph(f"{node.op_type} has {weight.shape[0]} outputs, BN {scale.size}")
        bias = self._bias(node, weight.shape[0])
        folded = weight * scale.reshape(-1, *[1] * (weight.ndim - 1))
        self._set_weights(node, folded, bias * scale + shift)

    def _scale_gemm_inputs(self, gemm: onnx.NodeProto, scale: Array, shift: Array) -> None:
        """Gemm(Flatten(x * scale[c] + shift[c])): W' = W * s per column, b' = b + W @ t."""
        attrs = _attributes(gemm)
        if attrs.get("transB") != 1 or attrs.get("alpha", 1.0) != 1 or attrs.get("beta", 1.0) != 1:
            raise UnexpectedSFaceGraph("only Gemm(alpha=1, beta=1, transB=1) is folded")
        weight = self.constant(gemm.input[1]).astype(np.float64)
        if weight.shape[1] % scale.size:
            raise UnexpectedSFaceGraph(f"Gemm of {weight.shape[1]} inputs after {scale.size} channels")
        columns_scale = np.repeat(scale, weight.shape[1] // scale.size)
        columns_shift = np.repeat(shift, weight.shape[1] // scale.size)
        bias = self._bias(gemm, weight.shape[0])
        # A plain (pairwise) sum, not BLAS: the same rounding on every CPU.
        self._set_weights(gemm, weight * columns_scale, bias + (weight * columns_shift).sum(axis=1))

    def _bias(self, node: onnx.NodeProto, size: int) -> Array:
        if len(node.input) > 2 and node.input[2]:
            bias = self.constant(node.input[2]).astype(np.float64)
            return np.broadcast_to(bias, (size,)).copy()
        return np.zeros(size, np.float64)

    def _set_weights(self, node: onnx.NodeProto, weight: Array, bias: Array) -> None:
        # Fresh names: a weight shared with another node must not change under it.
        base = node.output[0]
        node.input[1] = self.add_constant(f"{base}_weight", weight.astype(np.float32))
        bias_name = self.add_constant(f"{base}_bias", bias.astype(np.float32))
        if len(node.input) > 2:
            node.input[2] = bias_name
        else:
            node.input.append(bias_name)

    def rewrite_prelus(self) -> None:
        """PRelu(x) = x if x >= 0 else a * x, per channel, written as x + (1 - a) * Relu(-x).

        For x >= 0, Relu(-x) is 0 and this is x; for x < 0 it is x + (1 - a) * (-x) = a * x.
        Negation and scaling are depthwise 1x1 Convs so that ONNX Runtime keeps the whole
        chain in its NCHWc layout (Conv+Relu and Conv+Add fuse there).
        """
        for prelu in [n for n in self.nodes if n.op_type == "PRelu"]:
            x, slope_name = prelu.input
            slope = self.constant(slope_name).astype(np.float32)
            if slope.ndim != 3 or slope.shape[1:] != (1, 1):
                raise UnexpectedSFaceGraph(f"PRelu slope of shape {slope.shape}, expected (C, 1, 1)")
            channels = slope.shape[0]
            base = prelu.output[0]
            negated, negative_part, scaled = (
                self.unique(f"{base}_{s}") for s in ("neg", "relu_neg", "scaled")
            )
            minus_one = self.add_constant(f"{base}_minus_one", -np.ones((channels, 1, 1, 1), np.float32))
            one_minus_a = self.add_constant(f"{base}_one_minus_slope", (1 - slope).reshape(channels, 1, 1, 1))
            conv = {"kernel_shape": [1, 1], "group": channels}
            replacement = [
                self.new_node("Conv", [x, minus_one], negated, **conv),
                self.new_node("Relu", [negated], negative_part),
                self.new_node("Conv", [negative_part, one_minus_a], scaled, **conv),
                self.new_node("Add", [x, scaled], base),
            ]
            index = self.nodes.index(prelu)
            self.nodes[index : index + 1] = replacement

    # --- output ----------------------------------------------------------------------------

    def to_model(self) -> onnx.ModelProto:
        unknown = sorted({node.op_type for node in self.nodes} - _PREPARED_OPS)
        if unknown:
            raise UnexpectedSFaceGraph(f"operators left after preparation: {', '.join(unknown)}")
        read = {name for node in self.nodes for name in node.input}
        initializers = [
            numpy_helper.from_array(np.ascontiguousarray(value), name)
            for name, value in self.constants.items()
            if name in read
        ]
        for node in self.nodes:
            if not node.name:
                node.name = self.unique(f"{node.output[0]}/{node.op_type}")
        graph = helper.make_graph(
            self.nodes,
            self.name,
            [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [_BATCH, 3, CHIP_SIZE, CHIP_SIZE])],
            [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [_BATCH, EMBEDDING_SIZE])],
            initializers,
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            ir_version=IR_VERSION,
            producer_name="facelab.modelprep.sface_onnx",
            doc_string="OpenCV Zoo SFace (face_recognition_sface_2021dec), weights dequantised to float32",
        )
        # Apache-2.0 asks a modified work to say so: the notice travels with the file.
        helper.set_model_props(model, NOTICE)
        return model
