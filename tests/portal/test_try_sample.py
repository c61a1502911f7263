"""The try-it liveness page's sample package (portal/try_sample.py): built fresh for one of the
signed-in user's open challenges, sealed with that challenge's key, never for anyone else's."""

from __future__ import annotations

import base64
import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from accounts.services import account_create
from faceportal_capture.package import open_package
from resources.liveness import challenge_issue, challenge_key
from resources.models import LivenessChallenge

pytestmark = pytest.mark.django_db
URL = "portal:try_liveness_sample"


def signed_in(client: Client, username: str) -> Client:
    user = get_user_model().objects.get_or_create(username=username)[0]
    client.force_login(user)
    return client


def post(client: Client, challenge_id: str) -> Any:
    return client.post(reverse(URL), {"challenge_id": challenge_id})


def test_it_seals_a_sample_for_the_users_own_open_challenge(client: Client) -> None:
    account, _ = account_create(username="alice", quota=10, rate=0, concurrency=1)
    challenge, _ = challenge_issue(account)
    response = post(signed_in(client, "alice"), challenge.id)
    assert response.status_code == 200
    body = response.json()
    capture = open_package(base64.b64decode(body["package"]), challenge_key(account, challenge.id))
    assert capture.challenge_id == challenge.id and list(capture.actions) == challenge.actions
    assert [mark.action for mark in capture.marks] == challenge.actions
    assert capture.device.sdk == "faceportal-capture-sample"
    assert 20 <= len(capture.frames) <= 60
    stamps = [frame.timestamp_us for frame in capture.frames]
    assert stamps == sorted(set(stamps)) and stamps[0] == 0
    assert Image.open(io.BytesIO(base64.b64decode(body["selfie"]))).size == (640, 480)
    # Building it used nothing up: the page verifies it as any package.
    assert LivenessChallenge.objects.get(id=challenge.id).used_at is None


def test_another_users_challenge_is_as_good_as_unknown(client: Client) -> None:
    account_create(username="alice", quota=10, rate=0, concurrency=1)
    mallory, _ = account_create(username="mallory", quota=10, rate=0, concurrency=1)
    challenge, _ = challenge_issue(mallory)
    response = post(signed_in(client, "alice"), challenge.id)
    assert response.status_code == 404 and "package" not in response.json()


def test_a_used_or_expired_challenge_is_refused(client: Client) -> None:
    account, _ = account_create(username="alice", quota=10, rate=0, concurrency=1)
    used, _ = challenge_issue(account)
    LivenessChallenge.objects.filter(id=used.id).update(used_at=timezone.now())
    expired, _ = challenge_issue(account)
    LivenessChallenge.objects.filter(id=expired.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    signed_in(client, "alice")
    for challenge in (used, expired):
        response = post(client, challenge.id)
        assert response.status_code == 400 and "used up or expired" in response.json()["error"]
    assert post(client, "").status_code == 400


def test_it_needs_sign_in_and_a_post(client: Client) -> None:
    assert client.post(reverse(URL), {"challenge_id": "x"}).status_code == 302
    assert signed_in(client, "alice").get(reverse(URL)).status_code == 405
