"""API errors: raised anywhere in the request path, rendered in one place (Family.render)."""

from __future__ import annotations


class ApiError(Exception):
    """An answer other than success: its code, HTTP status and, for LinkFace, the image
    it concerns and a reason in the vendor's words."""

    def __init__(
        self, code: str, http_status: int = 400, *, image: str | None = None, reason: str | None = None
    ):
        super().__init__(code if reason is None else f"{code}: {reason}")
        self.code = code
        self.http_status = http_status
        self.image = image
        self.reason = reason


class ImageProblem(Exception):
    """Something wrong with one image, in neutral terms; each API family names it its own
    way (LinkFace CORRUPT_IMAGE is FaceID IMAGE_ERROR_UNSUPPORTED_FORMAT, ...)."""

    CORRUPT = "corrupt"
    BAD_SIZE = "bad_size"
    FILE_TOO_BIG = "file_too_big"
    ID_NOT_FOUND = "id_not_found"
    DOWNLOAD_TIMEOUT = "download_timeout"
    DOWNLOAD_ERROR = "download_error"
    NO_FACE = "no_face"
    TOO_MANY_FACES = "too_many_faces"
    MISSING = "missing"
    WRONG_PACKAGE = "wrong_package"  # a liveness package that does not open or validate

    def __init__(self, kind: str, image: str, reason: str | None = None) -> None:
        super().__init__(f"{image}: {kind}" + (f" ({reason})" if reason else ""))
        self.kind = kind
        self.image = image
        self.reason = reason


class Refusal(Exception):
    """A call the account may not make now, by its LinkFace code (NO_PERMISSION,
    RATE_LIMIT_EXCEEDED, OUT_OF_QUOTA, UNAUTHORIZED, KEY_EXPIRED); each family names it."""

    def __init__(self, code: str, reason: str | None = None) -> None:
        super().__init__(code if reason is None else f"{code}: {reason}")
        self.code = code
        self.reason = reason


class InvalidArgument(Exception):
    """A parameter given wrongly: `reason` in the vendor's words, for the families that say it.

    `verbatim`: the reason is said as it is, not as "argument '<name>': <reason>" (the face
    sets' `face db <name> not exist` names what is wrong with the request, not one value)."""

    def __init__(self, name: str, reason: str, *, verbatim: bool = False) -> None:
        super().__init__(reason if verbatim else f"argument '{name}': {reason}")
        self.name = name
        self.reason = reason
        self.verbatim = verbatim


class MissingCredential(Exception):
    """A credential (`api_id`, `api_key`, `api_secret`) absent or blank."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name
