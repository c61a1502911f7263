"""Try-it pages: one form per endpoint, calling the real API from the browser.

Secrets are kept only as hashes, so the server cannot call the API as the user: these views
render the forms (the user's own keys, their recent stored images and liveness packages to
reuse by id, the documented thresholds a result is read against) and static/portal/try-*.js
makes the call with the secret typed in the page, which never reaches these views. The call
is then an ordinary API call: recorded in the history, taken from the quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.models import ApiAccount, Endpoint
from faceportal.endpoints import ENDPOINTS, FACEID, FACESET_DEFAULT_THRESHOLD, FACESET_MAX_TOP, ApiEndpoint
from facesets.models import FaceSet
from identity.documented import (
    CUES,
    DECISION_THRESHOLD,
    DOCUMENTED_THRESHOLDS,
    PASS_CEILING,
    QUALITY_THRESHOLD,
    SAME_PERSON,
    documented_far,
)
from portal.samples import sample_choices
from portal.tryit_stored import image_choice
from resources.models import LivenessData, StoredImage

# The try-it pages by their portal URL name: the registry says which endpoint each calls.
_TRYIT = {entry.tryit.page: entry for entry in ENDPOINTS if entry.tryit}

# How many stored images / liveness packages are offered for reuse by id.
RECENT = 30

# What each liveness cue checks (docs/liveness.md has how each threshold was chosen).
CUE_MEANINGS: dict[str, str] = {
    "faces": "At least 80% of the frames show exactly one face.",
    "timestamps": "Frame times increase, 1/120 s to 1 s apart, over 1 to 30 s in all.",
    "actions": "The prompted blink and head turn happened, in order, starting facing the camera.",
    "rigidity": "The face moved like a head, not like a flat print or screen.",
    "repetition": "The frames change beyond sensor noise: not one image repeated or held still.",
    "identity": "Every frame shows the same person as the best frame (confidence 0.7 or more).",
}


@dataclass(frozen=True)
class KeyChoice:
    """One of the user's API keys as the key picker offers it, with why a call may be refused."""

    api_id: str
    label: str
    problem: str
    version: int = 1  # of its secret: a tab's kept secret of another version is stale
    name: str = ""


def key_choices(user: Any, endpoint: Endpoint) -> list[KeyChoice]:
    """Only the signed-in user's own accounts; a key that the API would refuse is still
    offered (the refusal is worth seeing), with the reason in its label."""
    now = timezone.now()
    choices = []
    for account in ApiAccount.objects.filter(user=user).order_by("-created_at"):
        problem = ""
        if account.is_revoked:
            problem = "revoked"
        elif not account.is_active:
            problem = "inactive"
        elif account.is_expired(now):
            problem = "expired"
        elif endpoint.value not in (account.endpoints or []):
            problem = "not allowed to call this endpoint"
        elif account.quota_remaining == 0:
            problem = "quota used up"
        name = account.name or "API key"
        choices.append(
            KeyChoice(account.api_id, f"{name} · {account.api_id}", problem, account.secret_version, name)
        )
    return choices


def recent_images(user: Any) -> list[dict[str, object]]:
    """The user's latest stored images, with the size the compare page needs to crop faces
    out of their thumbnails (face boxes are in the original's pixels)."""
    images = (
        StoredImage.objects.filter(account__user=user)
        .select_related("account")
        .order_by("-created_at")[:RECENT]
    )
    return [{**image_choice(image), "api_id": image.account.api_id} for image in images]


def recent_packages(user: Any) -> list[dict[str, object]]:
    packages = (
        LivenessData.objects.filter(account__user=user)
        .select_related("account")
        .order_by("-created_at")[:RECENT]
    )
    return [
        {
            "id": package.id,
            "api_id": package.account.api_id,
            "label": f"{package.frames} frames, {timezone.localtime(package.created_at):%Y-%m-%d %H:%M}",
        }
        for package in packages
    ]


def face_set_choices(user: Any) -> list[dict[str, object]]:
    """The sets of each of the user's keys, for search's set picker (it shows the chosen key's)."""
    sets = FaceSet.objects.filter(account__user=user).select_related("account").order_by("name")
    return [{"api_id": s.account.api_id, "name": s.name, "faces": s.face_count} for s in sets]


def threshold_table() -> list[dict[str, object]]:
    """The contract's table: confidence t accepts another person with probability 10^-(10t-3)."""
    return [
        {"confidence": t, "rate": documented_far(t), "label": f"1/{round(1 / documented_far(t)):,}"}
        for t in DOCUMENTED_THRESHOLDS
    ]


# The loosest threshold a plain verdict may be read at: 0.6, where another person is accepted
# 1/1,000 of the time; the table's 0.4 and 0.5 (1/10, 1/100) accept far too many strangers to
# call a pair "the same person".
VERDICT_LOOSEST = 0.6


def verdict_choices() -> list[dict[str, object]]:
    """The thresholds compare's verdict can be read at (1/1,000 .. 1/1,000,000 of another
    person accepted), the vendor's 0.7 chosen by default."""
    return [
        {"confidence": t, "in_words": f"1 in {round(1 / documented_far(t)):,}", "default": t == SAME_PERSON}
        for t in DOCUMENTED_THRESHOLDS
        if t >= VERDICT_LOOSEST
    ]


def endpoint_entry(entry: ApiEndpoint) -> dict[str, object]:
    """What static/portal/snippets.js renders the code samples from: the registry's entry."""
    return {
        "name": entry.name,
        "url": entry.url,
        "family": entry.family,
        "id_field": "api_key" if entry.family == FACEID else "api_id",
        "label": entry.label,
        "params": [{"name": param.name, "kind": param.kind} for param in entry.params],
    }


def _page(request: HttpRequest, name: str, **extra: object) -> HttpResponse:
    entry = _TRYIT[f"try_{name}"]
    keys = key_choices(request.user, Endpoint(entry.permission))
    wanted = request.GET.get("api_id", "")
    context = {
        "title": f"Try {name}",
        "keys": keys,
        # Only preselect a key of this user's: the parameter is just a convenience for links.
        "selected_api_id": wanted if any(key.api_id == wanted for key in keys) else "",
        "api_url": reverse(entry.name),
        "id_field": "api_key" if entry.family == FACEID else "api_id",
        "endpoint_entry": endpoint_entry(entry),
        "samples": sample_choices(),
        # The compare and mask pages count the faces of a refused group photo with detect.
        "detect_url": reverse("detect"),
        **extra,
    }
    return render(request, f"portal/try_{name}.html", context)


@login_required
@require_safe
def try_detect(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "detect",
        quality_threshold=QUALITY_THRESHOLD,
    )


@login_required
@require_safe
def try_compare(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "compare",
        stored_images=recent_images(request.user),
        thresholds=threshold_table(),
        verdicts=verdict_choices(),
    )


@login_required
@require_safe
def try_mask(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "mask",
        stored_images=recent_images(request.user),
    )


@login_required
@require_safe
def try_liveness(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "liveness",
        stored_images=recent_images(request.user),
        packages=recent_packages(request.user),
        cues=[(cue, CUE_MEANINGS[cue]) for cue in CUES],
        hack_threshold=DECISION_THRESHOLD,
        pass_ceiling=PASS_CEILING,
        same_person=SAME_PERSON,
        capture_url=reverse("liveness_capture"),
        sample_url=reverse("portal:try_liveness_sample"),
        challenge_url=reverse("liveness_challenge"),
    )


@login_required
@require_safe
def try_search(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "search",
        stored_images=recent_images(request.user),
        face_sets=face_set_choices(request.user),
        selected_set=request.GET.get("set", ""),
        thresholds=threshold_table(),
        default_threshold=FACESET_DEFAULT_THRESHOLD,
        max_top=FACESET_MAX_TOP,
        faceset_list_url=reverse("portal:faceset_list"),
    )
