"""Writes and checks on API accounts: creation, secrets (rotation with an optional grace
period), renaming, revocation and deletion, authentication, limits, quota.

Secrets are 32 random bytes, so a single SHA-256 is as strong as a slow password hash
here and keeps authentication to microseconds on every call. Limits shared between
processes (rate, concurrency) live in the cache, which is Redis when several app servers
share the load; the quota is exact and lives in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall


class AccountError(Exception):
    """Base of the refusals below; the API layer renders them."""


class InvalidCredentials(AccountError):
    pass


class KeyExpired(AccountError):
    def __init__(self, expired_at: datetime) -> None:
        super().__init__(f"key expired at {expired_at.isoformat()}")
        self.expired_at = expired_at


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


# Compared against when the api_id is unknown, so that both paths cost the same.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(32))


def secret_assign(account: ApiAccount) -> str:
    """Gives the account a new secret (kept only as its hash) and returns it in clear, the
    one time it exists so."""
    secret = secrets.token_urlsafe(32)
    account.secret_hash = hash_secret(secret)
    return secret


@transaction.atomic
def account_create(
    *,
    username: str,
    name: str = "",
    quota: int = 1000,
    rate: int = 10,
    concurrency: int = 4,
    expires_at: datetime | None = None,
    endpoints: list[str] | None = None,
) -> tuple[ApiAccount, str]:
    """A new account for `username` (created if needed); returns it and its secret, the
    only time the secret exists in clear."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    account = ApiAccount(
        user=user,
        name=name,
        quota_limit=quota,
        rate_limit=rate,
        concurrency_limit=concurrency,
        expires_at=expires_at,
    )
    secret = secret_assign(account)
    if endpoints is not None:
        account.endpoints = endpoints
    account.full_clean(exclude=["secret_hash"])
    account.save()
    return account, secret


# The longest an old secret may keep working after a rotation: long enough to redeploy the
# programs that use it, short enough that a leaked secret does not outlive its rotation by much.
ROTATION_GRACE_MAX = timedelta(days=7)


class GraceTooLong(AccountError):
    pass


@transaction.atomic
def account_rotate_secret(
    account: ApiAccount, *, grace: timedelta = timedelta(0), now: datetime | None = None
) -> str:
    """Gives the account a new secret and returns it in clear. With a grace period the secret it
    replaces keeps working until then (its hash kept as previous_secret_hash); without, it stops
    at once. Either way a secret still in the grace of an earlier rotation stops now: only the
    current secret and the one just replaced can ever open the account."""
    if grace < timedelta(0) or grace > ROTATION_GRACE_MAX:
        raise GraceTooLong(f"the grace period is at most {ROTATION_GRACE_MAX}, got {grace}")
    locked = ApiAccount.objects.select_for_update().filter(pk=account.pk)
    replaced = locked.values_list("secret_hash", flat=True).first() or ""
    secret = secret_assign(account)
    account.previous_secret_hash = replaced if grace else ""
    account.previous_secret_until = (now or timezone.now()) + grace if grace else None
    ApiAccount.objects.filter(pk=account.pk).update(
        secret_hash=account.secret_hash,
        previous_secret_hash=account.previous_secret_hash,
        previous_secret_until=account.previous_secret_until,
        secret_version=F("secret_version") + 1,
    )
    account.refresh_from_db(fields=["secret_version"])
    return secret


def account_rename(*, account: ApiAccount, name: str) -> str:
    """Renames the account (the owner's label); returns the name as stored."""
    account.name = ApiAccount._meta.get_field("name").clean(name.strip(), account)
    ApiAccount.objects.filter(pk=account.pk).update(name=account.name)
    return account.name


def account_revoke(*, account: ApiAccount, now: datetime | None = None) -> None:
    """Refuses every call of the account from now on, for good (the operator's is_active can be
    switched back; this cannot). A secret in its grace period goes with it."""
    account.revoked_at = account.revoked_at or now or timezone.now()
    account.previous_secret_hash, account.previous_secret_until = "", None
    ApiAccount.objects.filter(pk=account.pk).update(
        revoked_at=account.revoked_at, previous_secret_hash="", previous_secret_until=None
    )


@transaction.atomic
def account_delete(*, account: ApiAccount) -> None:
    """Deletes the account with everything stored under it, by the foreign keys' cascade (stored
    images and liveness packages, whose files go once the deletion commits, resources/signals.py;
    face sets); its calls stay in the service's log, with no account."""
    account.delete()


def account_top_up(account: ApiAccount, calls: int) -> None:
    ApiAccount.objects.filter(pk=account.pk).update(quota_limit=F("quota_limit") + calls)


def account_save(*, account: ApiAccount, new: bool) -> str | None:
    """Saves an account edited by hand (the admin's form); a new one first gets its secret,
    returned in clear that once. None for an existing account: its secret is left alone."""
    secret = secret_assign(account) if new else None
    account.save()
    return secret


def account_extend_expiry(*, account: ApiAccount, days: int, now: datetime | None = None) -> datetime:
    """Pushes an expiring account's expiry `days` further and returns the new one. An expired
    account gets the days from now, not from its past expiry."""
    assert account.expires_at is not None, "an account without expiry has nothing to extend"
    account.expires_at = max(now or timezone.now(), account.expires_at) + timedelta(days=days)
    account.save(update_fields=["expires_at"])
    return account.expires_at


def account_set_active(*, account_ids: list[int], active: bool) -> int:
    """Activates or deactivates the accounts (a deactivated one has its calls refused) in one
    update; returns how many rows it changed."""
    return ApiAccount.objects.filter(pk__in=account_ids).update(is_active=active)


def account_allow_endpoints(*, account_ids: list[int], endpoints: list[str]) -> list[ApiAccount]:
    """Adds the endpoints to the accounts' permissions, keeping the ones they have; returns
    the accounts that gained any. Rows locked, so that an edit saved meanwhile is not undone."""
    changed = []
    with transaction.atomic():
        for account in ApiAccount.objects.select_for_update().filter(pk__in=account_ids).order_by("pk"):
            missing = [endpoint for endpoint in endpoints if endpoint not in account.endpoints]
            if missing:
                account.endpoints = [*account.endpoints, *missing]
                account.save(update_fields=["endpoints"])
                changed.append(account)
    return changed


def authenticate(api_id: str, secret: str) -> ApiAccount:
    """The active account these credentials open; constant time in the secret.

    The one place every API call is authenticated: the current secret opens the account, and
    so does the secret replaced by the last rotation until its grace period ends. Until a
    secret matches only the row's hashes are read, as plain values: building the account and
    its user for a known api_id (tens of microseconds) would otherwise tell it apart from an
    unknown one by timing (ops/abuse/timing.py measures the difference). Both hashes are
    compared on every call, whichever matches, for the same reason."""
    found = (
        ApiAccount.objects.filter(api_id=api_id)
        .values_list("pk", "secret_hash", "previous_secret_hash", "previous_secret_until")
        .first()
        if api_id
        else None
    )
    now = timezone.now()
    given = hash_secret(secret)
    current = hmac.compare_digest(found[1] if found else _DUMMY_HASH, given)
    previous = hmac.compare_digest((found[2] if found else "") or _DUMMY_HASH, given)
    until = found[3] if found and found[2] else None
    in_grace = until is not None and now < until
    if found is None or not (current or (previous and in_grace)):
        raise InvalidCredentials()
    account = ApiAccount.objects.select_related("user").filter(pk=found[0]).first()
    if account is None or not account.is_active or account.is_revoked or not account.user.is_active:
        raise InvalidCredentials()  # None: deleted just now
    if account.is_expired(now):
        assert account.expires_at is not None
        raise KeyExpired(account.expires_at)
    return account


# A call that passes the rate limit holds one of the account's `rate_limit` slots for this long.
RATE_WINDOW_SECONDS = 1


def rate_limit_exceeded(account: ApiAccount) -> bool:
    """Lets this call through if one of the account's `rate_limit` slots is free, and takes it
    for RATE_WINDOW_SECONDS; shared by all processes through the cache.

    Each slot is a cache key added with a one-second expiry, so it is free again exactly one
    second after the call that took it: at most `rate_limit` calls pass in ANY one-second
    window, wherever it starts (a counter per calendar second let a burst at the end of one
    second and another at the start of the next through: twice the limit). `add` is atomic
    (SET NX in Redis, a lock in local memory), so two calls never take the same slot, and a
    refused call takes nothing. The expiry is the cache's clock: with Redis, one clock for
    every app server. Usually one round trip (a random slot is free), two or more otherwise.
    """
    limit = account.rate_limit
    if limit == 0:
        return False
    slots = [f"rate-slot:{account.pk}:{index}" for index in range(limit)]
    if cache.add(random.choice(slots), 1, timeout=RATE_WINDOW_SECONDS):
        return False
    held = cache.get_many(slots)
    free = [slot for slot in slots if slot not in held]
    random.shuffle(free)  # concurrent calls then rarely race for the same slot
    return not any(cache.add(slot, 1, timeout=RATE_WINDOW_SECONDS) for slot in free)


def _count(key: str, *, timeout: int) -> int:
    """Adds one to a counter shared by all processes (atomic in Redis) and returns it."""
    cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


class ConcurrencyLimitExceeded(AccountError):
    pass


@contextmanager
def concurrency_slot(account: ApiAccount) -> Iterator[None]:
    """Holds one of the account's simultaneous-call slots for the duration."""
    if account.concurrency_limit == 0:
        yield
        return
    key = f"concurrency:{account.pk}"
    # A slot leaked by a killed worker expires with the key after a minute of quiet.
    count = _count(key, timeout=60)
    try:
        if count > account.concurrency_limit:
            raise ConcurrencyLimitExceeded()
        yield
    finally:
        with suppress(ValueError):  # the key expired meanwhile: nothing to give back
            cache.decr(key)


def quota_available(account: ApiAccount) -> bool:
    return account.quota_used < account.quota_limit


def quota_consume(account: ApiAccount) -> bool:
    """Takes one call from the quota, atomically: false when none is left."""
    return (
        ApiAccount.objects.filter(pk=account.pk, quota_used__lt=F("quota_limit")).update(
            quota_used=F("quota_used") + 1
        )
        == 1
    )


# The history status of a call that was charged but whose worker died before its answer was
# written (its row is still as the charge wrote it: no HTTP status). Never sent to a client.
UNANSWERED = "UNANSWERED"
# Far past the worker timeout: no call is still in flight this long after it started, so a
# charge's row still incomplete, or a stored file still without its row, has no worker behind it.
IN_FLIGHT_LIMIT = timedelta(minutes=10)


def unanswered_refund(*, now: datetime | None = None, grace: timedelta = IN_FLIGHT_LIMIT) -> int:
    """Gives back the quota of calls charged for an answer that was never sent, and marks
    their history rows UNANSWERED; returns how many. The charge and its row commit together
    (identity.api.services.call_charge) and the middleware completes the row only once the
    answer has been written to the socket, so an incomplete row means no answer left."""
    cutoff = (now or timezone.now()) - grace
    incomplete = ApiCall.objects.filter(status="OK", http_status=0, created_at__lt=cutoff)
    refunded = 0
    for call_id, account_id in incomplete.values_list("pk", "account_id"):
        with transaction.atomic():
            # Conditional, so that two purges running at once refund a call once.
            if not ApiCall.objects.filter(pk=call_id, http_status=0, status="OK").update(status=UNANSWERED):
                continue
            ApiAccount.objects.filter(pk=account_id, quota_used__gt=0).update(quota_used=F("quota_used") - 1)
            refunded += 1
    return refunded
