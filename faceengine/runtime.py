"""ONNX Runtime sessions with explicit threading.

Each model is one `InferenceSession` per engine. Thread counts are explicit because the
defaults (one thread per core, spinning while idle) make chained sessions fight over the
cores: measured on 2 cores, two spinning sessions took twice as long as one that waits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from faceengine.errors import ModelUnavailable

# Any float precision: OpenCV and numpy hand back float64 where the models give float32.
FloatArray = NDArray[np.floating[Any]]


def session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads must sleep, not spin: the next stage's session needs the core.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


class OnnxModel:
    """One loaded model: feeds its single input, returns its outputs by name."""

    def __init__(self, path: Path, threads: int) -> None:
        if not path.is_file():
            raise ModelUnavailable(f"model file {path} is missing")
        try:
            self.session = ort.InferenceSession(
                str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # a damaged file must surface as the engine's error
            raise ModelUnavailable(f"model file {path} cannot be loaded: {exc}") from exc
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [output.name for output in self.session.get_outputs()]

    def run(self, batch: FloatArray) -> dict[str, FloatArray]:
        outputs = self.session.run(self.output_names, {self.input_name: batch})
        return dict(zip(self.output_names, outputs, strict=True))
