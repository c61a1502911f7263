"""Rotation with a grace period, renaming, revocation and deletion of API accounts
(accounts.services), and what the admin shows of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import ApiAccount, ApiCall
from accounts.services import GraceTooLong, InvalidCredentials
from resources.models import StoredImage
from tests.accounts.helpers import image, url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


class Clock:
    """timezone.now, moved by hand: the grace period is read from it on every authentication."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def make_account(**options: Any) -> tuple[ApiAccount, str]:
    return services.account_create(username="alice", name="server", **options)


def opens(account: ApiAccount, secret: str) -> bool:
    try:
        return services.authenticate(account.api_id, secret).pk == account.pk
    except InvalidCredentials:
        return False


# -- rotation with a grace period ----------------------------------------------------------


def test_the_old_secret_works_within_the_grace_and_not_after(clock: Clock) -> None:
    account, old = make_account()

    new = services.account_rotate_secret(account, grace=timedelta(hours=1))

    assert opens(account, old) and opens(account, new)
    clock.advance(timedelta(minutes=59, seconds=59))
    assert opens(account, old)
    clock.advance(timedelta(seconds=1))
    assert not opens(account, old)
    assert opens(account, new)


def test_without_a_grace_the_old_secret_stops_at_once(clock: Clock) -> None:
    account, old = make_account()

    new = services.account_rotate_secret(account)

    assert not opens(account, old) and opens(account, new)
    account.refresh_from_db()
    assert account.previous_secret_hash == "" and account.previous_secret_until is None


def test_the_old_secret_is_kept_only_as_its_hash(clock: Clock) -> None:
    account, old = make_account()

    services.account_rotate_secret(account, grace=timedelta(days=1))

    account.refresh_from_db()
    assert account.previous_secret_hash == services.hash_secret(old)
    assert old not in account.previous_secret_hash
    assert account.previous_secret_until == clock.now + timedelta(days=1)
    assert account.previous_secret_works_until() == clock.now + timedelta(days=1)


def test_a_second_rotation_ends_the_first_ones_grace(clock: Clock) -> None:
    account, first = make_account()
    second = services.account_rotate_secret(account, grace=timedelta(days=7))

    third = services.account_rotate_secret(account, grace=timedelta(hours=1))

    assert not opens(account, first)
    assert opens(account, second) and opens(account, third)


def test_each_rotation_moves_the_secret_version_on(clock: Clock) -> None:
    account, _ = make_account()
    assert account.secret_version == 1

    services.account_rotate_secret(account)
    services.account_rotate_secret(account, grace=timedelta(hours=1))

    assert account.secret_version == 3
    assert ApiAccount.objects.get(pk=account.pk).secret_version == 3


@pytest.mark.parametrize("grace", [timedelta(days=7, seconds=1), timedelta(seconds=-1)])
def test_a_grace_beyond_the_cap_is_refused_and_nothing_changes(clock: Clock, grace: timedelta) -> None:
    account, old = make_account()

    with pytest.raises(GraceTooLong):
        services.account_rotate_secret(account, grace=grace)

    assert opens(account, old)
    assert ApiAccount.objects.get(pk=account.pk).secret_version == 1


def test_a_wrong_secret_is_refused_during_a_grace(clock: Clock) -> None:
    account, _ = make_account()
    services.account_rotate_secret(account, grace=timedelta(hours=1))

    assert not opens(account, "not the secret")
    assert not opens(account, "")


def test_the_old_secret_of_an_inactive_or_expired_account_opens_nothing(clock: Clock) -> None:
    account, old = make_account(expires_at=timezone.now() + timedelta(minutes=5))
    services.account_rotate_secret(account, grace=timedelta(hours=1))
    clock.advance(timedelta(minutes=6))

    with pytest.raises(services.KeyExpired):
        services.authenticate(account.api_id, old)
    services.account_set_active(account_ids=[account.pk], active=False)
    assert not opens(account, old)


# -- rename, revoke, delete ----------------------------------------------------------------


def test_rename_strips_and_stores_the_name() -> None:
    account, _ = make_account()

    assert services.account_rename(account=account, name="  checkout  ") == "checkout"

    assert ApiAccount.objects.get(pk=account.pk).name == "checkout"


def test_a_name_over_the_limit_is_refused_and_nothing_is_written() -> None:
    account, _ = make_account()

    with pytest.raises(ValidationError):
        services.account_rename(account=account, name="x" * 101)

    assert ApiAccount.objects.get(pk=account.pk).name == "server"


def test_a_revoked_account_is_refused_with_its_right_secret_for_good(clock: Clock) -> None:
    account, old = make_account()
    new = services.account_rotate_secret(account, grace=timedelta(hours=1))

    services.account_revoke(account=account)

    assert not opens(account, new) and not opens(account, old)
    stored = ApiAccount.objects.get(pk=account.pk)
    assert stored.revoked_at == clock.now and stored.previous_secret_hash == ""
    # The operator's "activate" does not bring a revoked key back.
    services.account_set_active(account_ids=[account.pk], active=True)
    assert not opens(account, new)


@pytest.mark.django_db(transaction=True)  # the files go once the deletion commits
def test_delete_takes_the_account_with_its_images_and_leaves_its_calls_without_one() -> None:
    account, secret = make_account()
    call = ApiCall.objects.create(
        account=account, endpoint="detect", request_id="r1", status="OK", http_status=200, latency_ms=1.0
    )
    stored = image(account)
    name = str(stored.file.name)
    assert stored.file.storage.exists(name)

    services.account_delete(account=account)

    assert not ApiAccount.objects.exists() and not StoredImage.objects.exists()
    assert not stored.file.storage.exists(name)
    call.refresh_from_db()
    assert call.account_id is None
    with pytest.raises(InvalidCredentials):
        services.authenticate(account.api_id, secret)


# -- the admin -----------------------------------------------------------------------------


def test_the_admin_shows_the_grace_but_never_a_secret_or_hash(client: Client, clock: Clock) -> None:
    client.force_login(User.objects.create_superuser("operator", "op@example.com", "pw"))
    account, old = make_account()
    new = services.account_rotate_secret(account, grace=timedelta(days=1))
    account.refresh_from_db()

    page = client.get(url(ApiAccount, "change", account.pk)).content.decode()

    until = timezone.localtime(clock.now + timedelta(days=1))
    assert f"still works until {until:%Y-%m-%d %H:%M}" in page
    for secret_or_hash in (old, new, account.secret_hash, account.previous_secret_hash):
        assert secret_or_hash not in page
    clock.advance(timedelta(days=1))
    assert "no longer works" in client.get(url(ApiAccount, "change", account.pk)).content.decode()


def test_the_grace_ends_at_the_chosen_time(clock: Clock) -> None:
    account, _ = make_account()
    start: datetime = clock.now

    services.account_rotate_secret(account, grace=timedelta(days=7), now=start)

    assert ApiAccount.objects.get(pk=account.pk).previous_secret_until == start + timedelta(days=7)
