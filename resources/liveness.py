"""Liveness challenges and packages on the service side.

A challenge is issued to an account: a random id (the nonce), a prompted action sequence
and an expiry. Its sealing key is derived, never stored: HMAC-SHA256 of the service's
liveness master key over the account's api_id and the challenge id. So only this service
can derive it, a package sealed for one account's challenge cannot be opened for another
account, and a stored package can be opened again later for verification. A package is
accepted once: the challenge is marked used in the same transaction that stores it.

Refusals are PackageRefused (resources/livenesschecks.py); reading a package from a request
belongs to the API layer (its packages module), which storage never imports.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import ApiAccount
from faceengine.liveness import CaptureFrame, draw_challenge
from faceportal_capture import liveness_pb2
from faceportal_capture.package import PackageError, open_package, read_key_id
from resources.livenesschecks import check_clock, decoded_frames, wrong
from resources.models import LivenessChallenge, LivenessData
from resources.services import save_with_file


def _master_key() -> bytes:
    configured = settings.FACEPORTAL_LIVENESS_KEY
    source = configured or f"liveness-master|{settings.SECRET_KEY}"
    return hashlib.sha256(source.encode()).digest()


def challenge_key(account: ApiAccount, challenge_id: str) -> bytes:
    message = f"faceportal-liveness-v1|{account.api_id}|{challenge_id}".encode()
    return hmac.new(_master_key(), message, hashlib.sha256).digest()


def challenge_issue(account: ApiAccount) -> tuple[LivenessChallenge, bytes]:
    """A fresh challenge: a blink and one head turn, in random order (the engine's rule)."""
    now = timezone.now()
    challenge = LivenessChallenge.objects.create(
        account=account,
        actions=list(draw_challenge()),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.FACEPORTAL_LIVENESS_CHALLENGE_SECONDS),
    )
    return challenge, challenge_key(account, challenge.id)


def challenge_body(challenge: LivenessChallenge, key: bytes) -> dict[str, object]:
    return {
        "challenge_id": challenge.id,
        "actions": list(challenge.actions),
        "expires_at": challenge.expires_at.isoformat(),
        "key": base64.b64encode(key).decode(),
    }


@dataclass(frozen=True)
class AcceptedPackage:
    data: bytes
    capture: liveness_pb2.Capture
    frames: list[CaptureFrame]  # decoded
    challenge: LivenessChallenge
    source: str  # "id", "file" or "url"
    stored: LivenessData | None  # when it came by id


def open_for(
    account: ApiAccount, data: bytes, *, fresh: bool
) -> tuple[liveness_pb2.Capture, list[CaptureFrame], LivenessChallenge]:
    """Opens a package of this account. `fresh` packages (just uploaded) must answer an
    unexpired, unused challenge, with a capture clock inside its times; stored ones were
    checked when they were accepted."""
    try:
        challenge_id = read_key_id(data)
    except PackageError as exc:
        raise wrong(exc.reason) from exc
    challenge = LivenessChallenge.objects.filter(account=account, id=challenge_id).first()
    if challenge is None:
        raise wrong("unknown challenge")
    if fresh and challenge.used_at is not None:
        raise wrong("challenge already used")
    if fresh and challenge.expires_at <= timezone.now():
        raise wrong("challenge expired")
    try:
        capture = open_package(data, challenge_key(account, challenge.id))
    except PackageError as exc:
        raise wrong(exc.reason) from exc
    if list(capture.actions) != list(challenge.actions):
        raise wrong("actions do not match the challenge")
    if fresh:
        check_clock(capture, challenge, timezone.now())
    # Every frame must decode, within the limits: a package is refused when it arrives, not
    # at verification.
    return capture, decoded_frames(capture), challenge


def prompts_of(capture: liveness_pb2.Capture) -> list[float] | None:
    """When each action was prompted (seconds), in challenge order; None unless every
    action has its mark."""
    marks = {mark.action: mark.prompted_at_us / 1e6 for mark in capture.marks}
    if not marks or any(action not in marks for action in capture.actions):
        return None
    return [marks[action] for action in capture.actions]


def package_find(*, account: ApiAccount, package_id: str) -> LivenessData | None:
    """The account's own stored package; another account's id is as good as unknown."""
    return LivenessData.objects.filter(account=account, id=package_id.lower()).first()


def store(account: ApiAccount, package: AcceptedPackage) -> LivenessData:
    """Marks the challenge used and stores the package; call inside the success transaction
    so that two uploads of one package cannot both be accepted."""
    if package.stored is not None:
        return package.stored
    taken = LivenessChallenge.objects.filter(pk=package.challenge.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if taken != 1:
        raise wrong("challenge already used")
    record = LivenessData(
        account=account,
        challenge=package.challenge,
        sha256=hashlib.sha256(package.data).hexdigest(),
        size=len(package.data),
        frames=len(package.capture.frames),
        source=package.source,
    )
    return save_with_file(record, f"{record.id}.fplv", package.data)
