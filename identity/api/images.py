"""The one image loader of every endpoint: stored id, file upload or URL, checked and decoded.

Precedence when several are given is the vendor's: the stored id, then the file, then the
URL. Every check that can be made on the header (format, sides) is made before any pixel is
decoded. Nothing is stored here: a new image is stored only when the call succeeds
(identity/api/services.py), so a failed call leaves no file and no row behind. Problems are
neutral (ImageProblem), named by the call's family.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

from django.conf import settings

from accounts.models import ApiAccount
from faceengine import DecodedImage, ImageTooLarge, UnreadableImage, decode, read_header
from faceengine.imageio import ANALYSIS_SIDE
from identity.api.errors import ImageProblem, InvalidArgument
from identity.api.families import ImageLimits
from identity.api.params import Params
from resources import fetch
from resources.models import StoredImage
from resources.services import image_find


@dataclass(frozen=True)
class ImageSlot:
    """Where one image of an endpoint comes from, by the endpoint's field names."""

    name: str  # the vendor's name for it in errors: selfie, image_one, image_two, image
    file_field: str
    id_field: str | None = None
    url_field: str | None = None
    base64_field: str | None = None  # the face sets' `image_base64`, last in precedence

    def missing_reason(self) -> str:
        return missing_reason(self.id_field, self.file_field, self.url_field, self.base64_field)


def missing_reason(*fields: str | None) -> str:
    """The vendor's INVALID_ARGUMENT reason when none of an input's fields was given."""
    quoted = [f"'{field}'" for field in fields if field]
    listed = ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]
    return f"must specify {listed} argument"


# The selfie of the mask and liveness verification endpoints.
SELFIE = ImageSlot("selfie", file_field="selfie_file", id_field="selfie_image_id", url_field="selfie_url")


@dataclass(frozen=True)
class LoadedImage:
    slot: ImageSlot
    data: bytes
    image: DecodedImage
    source: str  # "id", "file" (an upload, base64 included) or "url"
    stored: StoredImage | None  # set when the image came by id

    @property
    def format(self) -> str:
        return self.image.format


def load_image(
    params: Params,
    slot: ImageSlot,
    account: ApiAccount,
    limits: ImageLimits,
    *,
    full_resolution: bool = False,
) -> LoadedImage:
    """The image of `slot`, decoded for analysis (a reduced copy of large JPEGs) unless
    `full_resolution` is asked for (the masked image is returned at full size)."""
    data, source, stored = _read(params, slot, account, limits)
    if limits.max_bytes is not None and len(data) > limits.max_bytes:
        raise ImageProblem(ImageProblem.FILE_TOO_BIG, slot.name)
    if not data:
        raise ImageProblem(ImageProblem.CORRUPT, slot.name)
    try:
        header = read_header(data)
        sides = (header.width, header.height)
        if min(sides) <= limits.min_side or max(sides) > limits.max_side:
            raise ImageProblem(ImageProblem.BAD_SIZE, slot.name)
        image = decode(data, max_side=None if full_resolution else ANALYSIS_SIDE)
    except ImageTooLarge as exc:
        raise ImageProblem(ImageProblem.BAD_SIZE, slot.name) from exc
    except UnreadableImage as exc:
        raise ImageProblem(ImageProblem.CORRUPT, slot.name) from exc
    return LoadedImage(slot=slot, data=data, image=image, source=source, stored=stored)


def _read(
    params: Params, slot: ImageSlot, account: ApiAccount, limits: ImageLimits
) -> tuple[bytes, str, StoredImage | None]:
    image_id = params.text(slot.id_field) if slot.id_field else None
    if image_id:
        stored = image_find(account=account, image_id=image_id.strip())
        if stored is None:
            raise ImageProblem(ImageProblem.ID_NOT_FOUND, slot.name)
        with stored.file.open("rb") as handle:
            return handle.read(), "id", stored
    upload = params.file(slot.file_field)
    if upload is not None:
        if limits.max_bytes is not None and upload.size and upload.size > limits.max_bytes:
            raise ImageProblem(ImageProblem.FILE_TOO_BIG, slot.name)
        return upload.read(), "file", None
    url = params.text(slot.url_field) if slot.url_field else None
    if url:
        return download(url.strip(), slot.name, limits.max_bytes or 5 * 1024 * 1024), "url", None
    encoded = params.text(slot.base64_field) if slot.base64_field else None
    if encoded:
        return from_base64(encoded, slot, limits.max_bytes or 5 * 1024 * 1024), "file", None
    raise ImageProblem(ImageProblem.MISSING, slot.name, slot.missing_reason())


# A data URL's head ("data:image/jpeg;base64,"), which browsers' FileReader gives.
_DATA_URL = re.compile(r"^data:[\w/+.-]*;base64,", re.ASCII)


def from_base64(text: str, slot: ImageSlot, max_bytes: int) -> bytes:
    """An image given as base64 text (standard alphabet, padding optional, line breaks and a
    data-URL head allowed). Its size is judged on the text before anything is decoded."""
    name = slot.base64_field or slot.name
    compact = "".join(_DATA_URL.sub("", text.strip(), count=1).split())
    if len(compact) > (max_bytes + 2) // 3 * 4:
        raise ImageProblem(ImageProblem.FILE_TOO_BIG, slot.name)
    try:
        return binascii.a2b_base64(_padded(compact), strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidArgument(name, "not valid base64") from exc


def _padded(text: str) -> str:
    return text + "=" * (-len(text) % 4)


def download(url: str, name: str, max_bytes: int) -> bytes:
    """A file by URL under the operator's fetch policy; failures named after `name`."""
    policy = fetch.FetchPolicy(
        timeout=settings.FACEPORTAL_URL_TIMEOUT,
        max_bytes=max_bytes,
        allowed_hosts=frozenset(settings.FACEPORTAL_URL_ALLOWED_HOSTS),
    )
    try:
        return fetch.fetch(url, policy)
    except fetch.DownloadTimeout as exc:
        raise ImageProblem(ImageProblem.DOWNLOAD_TIMEOUT, name) from exc
    except fetch.DownloadTooLarge as exc:
        raise ImageProblem(ImageProblem.FILE_TOO_BIG, name) from exc
    except fetch.DownloadError as exc:
        raise ImageProblem(ImageProblem.DOWNLOAD_ERROR, name, exc.reason) from exc
