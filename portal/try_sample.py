"""The try-it liveness page's sample package: liveness without a camera.

The page asks the API for a challenge with the user's key (an ordinary call), then posts its
id here; this view seals a sample capture for it (faceportal_capture.sample: a package photo
moved before the "camera", built by the Python builder) with the challenge's key, which the
server derives itself, so that no key travels. Only a challenge of the signed-in user's own
keys, still open (unused, unexpired), is answered. The answer is the package and a selfie of
the same photo, base64 in JSON, for the page to verify as any package.
"""

from __future__ import annotations

import base64
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from faceportal_capture.build import Challenge
from faceportal_capture.sample import SampleUnavailable, sample_package
from resources.liveness import challenge_key
from resources.models import LivenessChallenge


def _refusal(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@login_required
@require_POST
def try_liveness_sample(request: HttpRequest) -> JsonResponse:
    challenge_id = request.POST.get("challenge_id", "").strip().lower()
    if not challenge_id:
        return _refusal("Ask for a challenge first: challenge_id is missing.", 400)
    user: Any = request.user  # signed in (login_required)
    challenge = (
        LivenessChallenge.objects.select_related("account")
        .filter(account__user=user, id=challenge_id)
        .first()
    )
    if challenge is None:
        return _refusal("No such challenge among your keys' challenges.", 404)
    if challenge.used_at is not None or challenge.expires_at <= timezone.now():
        return _refusal("This challenge is used up or expired: ask for a new one.", 400)
    answer = Challenge(
        challenge_id=challenge.id,
        actions=list(challenge.actions),
        key=challenge_key(challenge.account, challenge.id),
        expires_at=challenge.expires_at.isoformat(),
    )
    try:
        package, selfie = sample_package(answer)
    except SampleUnavailable as exc:
        return _refusal(f"No sample here: {exc}.", 503)
    return JsonResponse(
        {
            "challenge_id": challenge.id,
            "actions": answer.actions,
            "package": base64.b64encode(package).decode("ascii"),
            "selfie": base64.b64encode(selfie).decode("ascii"),
        }
    )
