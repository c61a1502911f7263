"""The data benchmark_portal measures the pages on: one user's key with N calls and M stored
images (real JPEGs with their real thumbnails), a second key of theirs, other users with a
key each (so that the admin's lists have pages to fill), liveness packages, and an operator.

Made in bulk, so that 10,000 calls and 1,000 images take seconds: the images are a few
synthetic pictures, each encoded at a spread of sizes once and stored under many ids; each
image's preview (when it is large) and list thumbnail are made from its own bytes by
resources.thumbnails, as the first view would make them. The liveness packages are rows with a
placeholder file: nothing that is measured opens them.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from accounts.models import ApiAccount, ApiCall
from accounts.services import secret_assign
from faceportal.endpoints import ENDPOINTS as REGISTRY
from facesets.models import EnrolledFace, FaceSet
from resources import thumbnails
from resources.models import LivenessChallenge, LivenessData, StoredImage
from resources.services import call_image_keep

ENDPOINTS = tuple(endpoint.name for endpoint in REGISTRY)
# Roughly what a real history holds: mostly successes, a spread of the common refusals.
STATUSES = [("OK", 200)] * 17 + [
    ("NO_FACE_DETECTED", 400),
    ("INVALID_ARGUMENT", 400),
    ("RATE_LIMIT_EXCEEDED", 429),
]
DAYS = 30
# Longest sides of the stored images: mostly phone-camera sizes, some above the preview side.
IMAGE_SIDES = (240, 320, 480, 512, 640, 720, 800, 960, 1024, 1200, 1600, 2000)
BATCH = 1000
# Faces of the seeded face set (its page shows 48 a page, each with a crop).
FACES = 500


@dataclass(frozen=True)
class Seeded:
    user: Any  # the customer whose pages are measured
    operator: Any  # a superuser, for the admin's pages
    account: ApiAccount  # the key holding the calls and images
    password: str  # the user's, for timing a real sign-in
    calls: int
    images: int


def seed(*, username: str, calls: int, images: int, users: int, packages: int) -> Seeded:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username)
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.save(update_fields=["password"])
    operator = user_model.objects.create_superuser(username=f"{username}-operator", email="", password=None)
    account = _account(user, "production", quota=calls * 2)
    _account(user, "staging", quota=1000)
    _other_users(username, users)
    image_ids = _images(account, images)
    _packages(account, packages)
    _calls(account, calls, image_ids)
    _call_image(account)
    _face_set(account, image_ids, FACES)
    return Seeded(
        user=user, operator=operator, account=account, password=password, calls=calls, images=images
    )


def _account(user: Any, name: str, *, quota: int) -> ApiAccount:
    account = ApiAccount(user=user, name=f"{name} ({user.get_username()})", quota_limit=quota)
    secret_assign(account)
    account.save()
    return account


def _other_users(prefix: str, count: int) -> None:
    """Users with one key each and no password (made with none: hashing would dominate)."""
    user_model = get_user_model()
    made = user_model.objects.bulk_create(
        [user_model(username=f"{prefix}-user-{n:05d}", email=f"user{n}@example.com") for n in range(count)],
        batch_size=BATCH,
    )
    if made and made[0].pk is None:  # databases that hand back no ids from a bulk insert
        made = list(user_model.objects.filter(username__startswith=f"{prefix}-user-"))
    keys = []
    for user in made:
        key = ApiAccount(user=user, name="key", quota_limit=1000)
        secret_assign(key)
        keys.append(key)
    ApiAccount.objects.bulk_create(keys, batch_size=BATCH)


@dataclass(frozen=True)
class _Encoded:
    data: bytes
    width: int
    height: int
    preview: bytes | None
    thumbnail: bytes


def _encoded_images() -> list[_Encoded]:
    """One synthetic picture (smooth colour fields and a disc, so that JPEG has real work)
    encoded at every side, with the preview and thumbnail resources.thumbnails makes of it."""
    encoded = []
    for index, side in enumerate(IMAGE_SIDES):
        width, height = (side, side * 3 // 4) if index % 3 else (side * 3 // 4, side)
        y, x = np.mgrid[0:height, 0:width]
        pixels = np.stack(
            [
                (255 * x / width).astype(np.uint8),
                (255 * y / height).astype(np.uint8),
                (128 + 127 * np.sin((x + y) / (17 + index))).astype(np.uint8),
            ],
            axis=-1,
        )
        inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (min(width, height) / 4) ** 2
        pixels[inside] = (230, 190, 160)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=88)
        data = buffer.getvalue()
        preview = None
        if max(width, height) > thumbnails.PREVIEW_SIDE:
            preview = thumbnails.jpeg_thumbnail(
                data, thumbnails.PREVIEW_SIDE, quality=thumbnails.PREVIEW_QUALITY
            )
        thumbnail = thumbnails.jpeg_thumbnail(preview or data, thumbnails.DEFAULT_SIZE)
        encoded.append(_Encoded(data, width, height, preview, thumbnail))
    return encoded


def _images(account: ApiAccount, count: int) -> list[str]:
    """`count` stored images of the account, files written through the storage, rows in bulk."""
    encoded = _encoded_images()
    now = timezone.now()
    pick = random.Random(20261202)
    rows = []
    for n in range(count):
        picture = encoded[n % len(encoded)]
        image = StoredImage(
            account=account,
            sha256=hashlib.sha256(picture.data).hexdigest(),
            format="JPEG",
            width=picture.width,
            height=picture.height,
            size=len(picture.data),
            source="file" if n % 4 else "url",
            created_at=now - timedelta(seconds=pick.randrange(DAYS * 24 * 3600)),
        )
        image.file.name = _save(image.file, image, "image.jpg", picture.data)
        if picture.preview is not None:
            image.preview_file.name = _save(image.preview_file, image, "preview.jpg", picture.preview)
        image.thumbnail_file.name = _save(image.thumbnail_file, image, "thumbnail.jpg", picture.thumbnail)
        rows.append(image)
    StoredImage.objects.bulk_create(rows, batch_size=BATCH)
    return [image.id for image in rows]


def _save(file: Any, image: StoredImage, filename: str, data: bytes) -> str:
    name = file.field.generate_filename(image, filename)
    return str(file.storage.save(name, ContentFile(data)))


def _packages(account: ApiAccount, count: int) -> None:
    now = timezone.now()
    challenges = LivenessChallenge.objects.bulk_create(
        [
            LivenessChallenge(
                account=account,
                actions=["blink", "turn_left"],
                created_at=now - timedelta(hours=n),
                expires_at=now - timedelta(hours=n) + timedelta(minutes=5),
                used_at=now - timedelta(hours=n) + timedelta(minutes=1),
            )
            for n in range(count)
        ],
        batch_size=BATCH,
    )
    placeholder = b"benchmark_portal placeholder: not a liveness package"
    rows = []
    for challenge in challenges:
        package = LivenessData(
            account=account,
            challenge=challenge,
            sha256=hashlib.sha256(placeholder).hexdigest(),
            size=len(placeholder),
            frames=60,
            source="file",
            created_at=challenge.created_at + timedelta(minutes=1),
        )
        package.file.name = default_storage.save(
            package.file.field.generate_filename(package, "package.fplv"), ContentFile(placeholder)
        )
        rows.append(package)
    LivenessData.objects.bulk_create(rows, batch_size=BATCH)


def _calls(account: ApiAccount, count: int, image_ids: list[str]) -> None:
    now = timezone.now()
    pick = random.Random(20261122)
    span = DAYS * 24 * 3600
    rows = []
    for _ in range(count):
        status, http_status = pick.choice(STATUSES)
        used = pick.sample(image_ids, min(len(image_ids), pick.choice((0, 1, 2))))
        rows.append(
            ApiCall(
                account=account,
                endpoint=pick.choice(ENDPOINTS),
                request_id=f"TID{secrets.token_hex(16)}",
                status=status,
                http_status=http_status,
                latency_ms=round(pick.lognormvariate(4, 0.5), 3),
                image_ids=used,
                client_ip="203.0.113.7",
                request_bytes=pick.randint(20_000, 900_000),
                response_bytes=180,
                request_params={"api_id": "x" * 32, "api_secret": "********", "verbose": "true"},
                # Big enough that loading it for every list row would show in the figures.
                response_body=json.dumps({"status": status, "faces": [{"quality": 81.2}] * 40}),
                created_at=now - timedelta(seconds=pick.randrange(span)),
            )
        )
    ApiCall.objects.bulk_create(rows, batch_size=BATCH)


def _call_image(account: ApiAccount) -> None:
    """The retained upload of the latest call with images, as the history's detail shows it."""
    call = ApiCall.objects.filter(account=account).exclude(image_ids=[]).order_by("-created_at").first()
    image = StoredImage.objects.filter(account=account).first()
    if call is None or image is None:
        return
    with image.file.open("rb") as handle:
        data = handle.read()
    call_image_keep(
        account=account,
        request_id=call.request_id,
        role="image_one",
        data=data,
        format="JPEG",
        width=image.width,
        height=image.height,
    )


def _face_set(account: ApiAccount, image_ids: list[str], count: int) -> None:
    """A face set with `count` faces, each enrolled from a stored image (random unit templates:
    no page shows one)."""
    face_set = FaceSet.objects.create(account=account, name="staff", template_model="benchmark")
    rng = np.random.default_rng(20261202)
    vectors = rng.normal(size=(count, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    images = {image.id: image for image in StoredImage.objects.filter(pk__in=image_ids[:count])}
    faces = []
    for n in range(count):
        photo = images.get(image_ids[n % len(image_ids)]) if image_ids else None
        box = [photo.width // 4, photo.height // 4, photo.width // 2, photo.height // 2] if photo else []
        faces.append(
            EnrolledFace(
                face_set=face_set,
                person_id=n + 1,
                template=vectors[n].tobytes(),
                model="benchmark",
                photo=photo,
                box=box,
            )
        )
    EnrolledFace.objects.bulk_create(faces, batch_size=BATCH)
    FaceSet.objects.filter(pk=face_set.pk).update(face_count=count, adds=count, next_person_id=count + 1)
