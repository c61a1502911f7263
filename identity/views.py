"""The face endpoints: detect (FaceID), compare and mask (LinkFace). Each reads its
parameters, loads its images, asks the engine and shapes the vendor's body; the pipeline
around them is identity/api/base.py."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from PIL import Image
from rest_framework.request import Request

from accounts import services as accounts
from accounts.models import Endpoint
from faceengine import QUALITY_THRESHOLD, Face, get_engine, mask_eyes
from faceportal.endpoints import LANDMARK_NAMES
from identity.api.base import ApiView, analyze
from identity.api.context import call_context
from identity.api.errors import ApiError, InvalidArgument, Refusal
from identity.api.families import FACEID, answered, family_for_path, json_response
from identity.api.images import SELFIE, ImageSlot, LoadedImage

MAX_COMPARE_FACES = 4
FACE_TOKEN_SALT = "faceportal.face-token"


def _rect(face: Face, image: LoadedImage) -> dict[str, float]:
    x, y, w, h = face.box
    width, height = image.image.width, image.image.height
    return {"left": x / width, "top": y / height, "width": w / width, "height": h / height}


def _landmarks(face: Face, image: LoadedImage) -> dict[str, dict[str, float]]:
    """Detect's verbose landmarks: fractions of the image as uploaded (EXIF applied), like `rect`."""
    width, height = image.image.width, image.image.height
    points = face.landmarks.five_points()
    return {
        name: {"x": round(float(x) / width, 6), "y": round(float(y) / height, 6)}
        for name, (x, y) in zip(LANDMARK_NAMES, points, strict=True)
    }


def _pose(face: Face) -> dict[str, float]:
    """Head pose in degrees, measured in the image as uploaded: a face lying on its side has a
    roll near +-90 whatever multi_oriented_detection says."""
    return {
        "yaw": round(face.pose.yaw, 1),
        "pitch": round(face.pose.pitch, 1),
        "roll": round(face.pose.roll, 1),
    }


def _box(face: Face) -> dict[str, object]:
    """A face for the verbose extensions: pixel box, quality, orientation."""
    x, y, w, h = face.box
    return {
        "rect": {"left": round(x), "top": round(y), "width": round(w), "height": round(h)},
        "quality": round(face.quality, 3),
        "orientation": face.orientation,
    }


class DetectView(ApiView):
    family = FACEID
    endpoint = Endpoint.DETECT
    slot = ImageSlot("image", file_field="image")

    def flag(self, name: str) -> bool:
        """FaceID's booleans: "1" or "0" (the default); anything else is BAD_ARGUMENTS:<name>."""
        value = self.params.text(name)
        if value not in (None, "0", "1"):
            raise InvalidArgument(name, "must be 1 or 0")
        return value == "1"

    def post(self, request: Request) -> HttpResponse:
        oriented = self.flag("multi_oriented_detection")
        verbose = self.flag("verbose")
        try:
            with accounts.concurrency_slot(self.account):
                image = self.load_image(self.slot)
                faces = analyze(image, auto_rotate=oriented, max_faces=None, embed=False, require_face=False)
        except accounts.ConcurrencyLimitExceeded as exc:
            raise Refusal("CONCURRENCY_LIMIT_EXCEEDED") from exc
        image_digest = hashlib.sha256(image.data).hexdigest()[:16]
        listed = []
        for index, face in enumerate(faces):
            entry: dict[str, object] = {
                "quality": round(face.quality, 3),
                "quality_threshold": QUALITY_THRESHOLD,
                "rect": _rect(face, image),
                # Opaque to the caller, yet signed: the service can later tell which
                # account, image and face it names without having stored anything.
                "token": signing.dumps([self.account.pk, image_digest, index], salt=FACE_TOKEN_SALT),
            }
            if oriented:
                entry["orientation"] = face.orientation
            if verbose:
                # Both are in the image's own frame, as `rect` is: with multi_oriented_detection
                # the search turns the image, but found faces are mapped back before landmarks.
                entry["landmarks"] = _landmarks(face, image)
                entry["pose"] = _pose(face)
            listed.append(entry)
        self.charge()
        body = {
            "time_used": round(self.call.elapsed_ms()),
            "request_id": self.call.request_id,
            "faces": listed,
        }
        return json_response(body)


class CompareView(ApiView):
    endpoint = Endpoint.COMPARE
    slots = (
        ImageSlot(
            "image_one", file_field="image_one_file", id_field="image_one_id", url_field="image_one_url"
        ),
        ImageSlot(
            "image_two", file_field="image_two_file", id_field="image_two_id", url_field="image_two_url"
        ),
    )

    def post(self, request: Request) -> HttpResponse:
        rotate = [self.params.boolean(f"{slot.name}_auto_rotate") for slot in self.slots]
        verbose = self.params.boolean("verbose")
        images = [self.load_image(slot) for slot in self.slots]
        faces = [
            analyze(image, auto_rotate=turn, max_faces=MAX_COMPARE_FACES, embed=True)
            for image, turn in zip(images, rotate, strict=True)
        ]
        matrix = get_engine().compare(faces[0], faces[1])
        charge = self.charge(images)
        body: dict[str, Any] = {
            "request_id": self.call.request_id,
            "status": "OK",
            "confidences": [[float(value) for value in row] for row in matrix],
            "max_confidence": float(np.max(matrix)),
        }
        for image in images:
            if image.source != "id":
                name = image.slot.name
                body[name] = {f"{name}_id": charge.stored[name].id}
        if verbose:
            body["faces_one"] = [_box(face) for face in faces[0]]
            body["faces_two"] = [_box(face) for face in faces[1]]
        return json_response(body)


class MaskView(ApiView):
    endpoint = Endpoint.MASK

    def post(self, request: Request) -> HttpResponse:
        mask = self.params.boolean("mask_eye")
        auto_rotate = self.params.boolean("auto_rotate")
        image = self.load_image(SELFIE, full_resolution=True)
        faces = analyze(image, auto_rotate=auto_rotate, max_faces=1, embed=False)
        pixels = mask_eyes(image.image.pixels, [faces[0].landmarks]) if mask else image.image.pixels
        content, content_type = _encode_like(pixels, image.format)
        self.charge()
        return answered(HttpResponse(content, content_type=content_type), "OK")


def _encode_like(pixels: np.ndarray, source_format: str) -> tuple[bytes, str]:
    """PNG stays PNG (lossless in, lossless out); everything else becomes JPEG."""
    buffer = io.BytesIO()
    if source_format == "PNG":
        Image.fromarray(pixels).save(buffer, "PNG")
        return buffer.getvalue(), "image/png"
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue(), "image/jpeg"


@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    family = family_for_path(request.path_info) or FACEID
    call = call_context(request)
    request_id = call.request_id if call is not None else family.new_request_id()
    return family.render(ApiError(family.not_found, 404), request_id)
