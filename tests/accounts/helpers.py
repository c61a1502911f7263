"""Helpers of the admin tests (tests/accounts/test_admin_*.py): admin URLs, the messages
and secrets a page shows, and rows made directly (calls, images, liveness objects)."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall
from resources.models import StoredImage
from resources.services import image_store

SECRET_MESSAGE = re.compile(
    r"Secret for (?P<api_id>[0-9a-f]{32}): (?P<secret>[\w-]+) — shown once, store it now"
)


def url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def secrets_shown(response: Any) -> dict[str, str]:
    return {
        match["api_id"]: match["secret"]
        for message in messages_of(response)
        if (match := SECRET_MESSAGE.fullmatch(message))
    }


def call(
    account: ApiAccount | None,
    status: str = "OK",
    age: timedelta = timedelta(0),
    latency_ms: float = 12.5,
    endpoint: str = "detect",
    **fields: Any,
) -> ApiCall:
    return ApiCall.objects.create(
        account=account,
        endpoint=endpoint,
        request_id=f"req-{ApiCall.objects.count()}-{status}",
        status=status,
        http_status=200 if status == "OK" else 400,
        latency_ms=latency_ms,
        client_ip="192.0.2.7",
        created_at=timezone.now() - age,
        **fields,
    )


def many_calls(accounts: list[ApiAccount | None], count: int, start: int = 0) -> None:
    """count calls spread over the accounts in turn (the n-th call ever made by the
    account at n modulo their number), in one insert."""
    now = timezone.now()
    ApiCall.objects.bulk_create(
        ApiCall(
            account=accounts[(start + n) % len(accounts)],
            endpoint="compare",
            request_id=f"bulk-{start + n}",
            status="OK" if n % 5 else "NO_FACE_DETECTED",
            http_status=200 if n % 5 else 400,
            latency_ms=float(n % 97),
            created_at=now - timedelta(minutes=n),
        )
        for n in range(count)
    )


def image(account: ApiAccount, age: timedelta = timedelta(0)) -> StoredImage:
    stored = image_store(account=account, data=b"pixels", format="PNG", width=640, height=480, source="url")
    if age:
        StoredImage.objects.filter(pk=stored.pk).update(created_at=timezone.now() - age)
    return stored


def act(client: Client, action: str, accounts: list[ApiAccount], **extra: str) -> Any:
    data = {"action": action, "_selected_action": [a.pk for a in accounts], **extra}
    if "confirmed" not in extra:
        data["index"] = "0"
    return client.post(url(ApiAccount, "changelist"), data, follow=True)


def nearest_rank(values: list[float], fraction: float) -> float:
    return sorted(values)[math.ceil(fraction * len(values)) - 1]


def filter_choices(response: Any, title: str) -> list[str]:
    """The choices the changelist offers in one of its side filters."""
    for spec in response.context["cl"].filter_specs:
        if spec.title == title:
            return [str(choice["display"]) for choice in spec.choices(response.context["cl"])]
    raise AssertionError(f"no filter {title!r}")


def liveness_objects(account: ApiAccount) -> dict[type[Model], Model]:
    """A challenge and an accepted package (its bytes need not be a real package here)."""
    from django.core.files.base import ContentFile

    from resources.liveness import challenge_issue
    from resources.models import LivenessChallenge, LivenessData

    challenge, _key = challenge_issue(account)
    package = LivenessData(
        account=account, challenge=challenge, sha256="0" * 64, size=4, frames=1, source="file"
    )
    package.file.save("p.fplv", ContentFile(b"FPLV"), save=False)
    package.save()
    return {LivenessChallenge: challenge, LivenessData: package}
