"""The engine's own errors. They carry no HTTP meaning: the service layer maps them to the
documented API codes, because only it knows which image of a request was involved."""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class UnreadableImage(EngineError):
    """The bytes are not an image in a supported format, or the file is damaged."""


class ImageTooCostly(UnreadableImage):
    """The file's structure would make decoding cost far more than its pixels do (too many
    JPEG scans, PNG chunks, GIF blocks, TIFF tags, ...). Refused, unread, as unreadable."""


class ImageTooLarge(EngineError):
    """The image declares more than the engine will decode (decompression bombs): more
    pixels than `limit`, or, with a `reason`, more of another decoding budget."""

    def __init__(
        self, width: int | None, height: int | None, limit: int, *, reason: str | None = None
    ) -> None:
        size = f"{width}x{height} pixels" if width and height else "far too many pixels"
        super().__init__(
            f"image of {size}: {reason}" if reason else f"image of {size} exceeds the limit of {limit} pixels"
        )
        self.width = width
        self.height = height


class NoFaceFound(EngineError):
    """No face was found in the image."""


class TooManyFaces(EngineError):
    """More faces than the caller allows were found."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} faces found, at most {limit} allowed")
        self.count = count
        self.limit = limit


class ModelUnavailable(EngineError):
    """A model file is missing or failed verification and could not be prepared."""
