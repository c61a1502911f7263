"""FacePortal's face engine: detection, landmarks, quality, embeddings, calibrated
comparison and eye masking on CPU with ONNX Runtime. It does not import Django."""

from faceengine.engine import Face, FaceEngine, get_engine
from faceengine.errors import (
    EngineError,
    ImageTooCostly,
    ImageTooLarge,
    ModelUnavailable,
    NoFaceFound,
    TooManyFaces,
    UnreadableImage,
)
from faceengine.imageio import DecodedImage, decode, from_array, read_header
from faceengine.masking import mask_eyes
from faceengine.quality import QUALITY_THRESHOLD

__all__ = [
    "QUALITY_THRESHOLD",
    "DecodedImage",
    "EngineError",
    "Face",
    "FaceEngine",
    "ImageTooCostly",
    "ImageTooLarge",
    "ModelUnavailable",
    "NoFaceFound",
    "TooManyFaces",
    "UnreadableImage",
    "decode",
    "from_array",
    "get_engine",
    "mask_eyes",
    "read_header",
]
