"""The figures the face API documents for reading its answers: the confidence thresholds and
their false-accept rates, the quality threshold, the liveness cues and decision thresholds.

The engine computes them; this module is where the rest of the project (the portal's try-it
pages) reads them, so that nothing outside the API layer imports the engine.
"""

from __future__ import annotations

from faceengine import QUALITY_THRESHOLD
from faceengine.calibration import DOCUMENTED_THRESHOLDS, documented_far
from faceengine.liveness import CUES, DECISION_THRESHOLD, PASS_CEILING, SAME_PERSON

__all__ = [
    "CUES",
    "DECISION_THRESHOLD",
    "DOCUMENTED_THRESHOLDS",
    "PASS_CEILING",
    "QUALITY_THRESHOLD",
    "SAME_PERSON",
    "documented_far",
]
