"""FacePortal liveness capture: the sealed package format and the SDK that produces it.

``faceportal_capture.package`` (re-exported here) opens and seals packages and is what the
server uses; ``faceportal_capture.build`` turns videos and image folders into packages; the
command line is ``python -m faceportal_capture``. Nothing here imports Django.
"""

__version__ = "1.0.0"

from faceportal_capture.package import (
    MAX_FRAMES,
    MAX_PACKAGE_BYTES,
    PackageError,
    open_package,
    read_key_id,
    seal,
)

__all__ = [
    "MAX_FRAMES",
    "MAX_PACKAGE_BYTES",
    "PackageError",
    "__version__",
    "open_package",
    "read_key_id",
    "seal",
]
