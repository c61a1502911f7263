"""Authentication, secrets, quota and the cache-held limits of accounts.services."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import ApiAccount
from accounts.services import ConcurrencyLimitExceeded, InvalidCredentials, KeyExpired


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def make_account(**options: object) -> tuple[ApiAccount, str]:
    return services.account_create(username="alice", **options)  # type: ignore[arg-type]


@pytest.mark.django_db
class TestAuthenticate:
    def test_right_secret_opens_the_account(self) -> None:
        account, secret = make_account()
        assert services.authenticate(account.api_id, secret).pk == account.pk

    def test_only_the_hash_is_stored(self) -> None:
        account, secret = make_account()
        account.refresh_from_db()
        assert secret not in account.secret_hash
        assert account.secret_hash == services.hash_secret(secret)

    def test_wrong_secret(self) -> None:
        account, secret = make_account()
        with pytest.raises(InvalidCredentials):
            services.authenticate(account.api_id, secret + "x")

    def test_unknown_id(self) -> None:
        _, secret = make_account()
        with pytest.raises(InvalidCredentials):
            services.authenticate("0" * 32, secret)

    def test_empty_id(self) -> None:
        _, secret = make_account()
        with pytest.raises(InvalidCredentials):
            services.authenticate("", secret)

    def test_inactive_account(self) -> None:
        account, secret = make_account()
        ApiAccount.objects.filter(pk=account.pk).update(is_active=False)
        with pytest.raises(InvalidCredentials):
            services.authenticate(account.api_id, secret)

    def test_inactive_user(self) -> None:
        account, secret = make_account()
        account.user.is_active = False
        account.user.save()
        with pytest.raises(InvalidCredentials):
            services.authenticate(account.api_id, secret)

    def test_expired(self) -> None:
        account, secret = make_account(expires_at=timezone.now() - timedelta(seconds=1))
        with pytest.raises(KeyExpired) as raised:
            services.authenticate(account.api_id, secret)
        assert str(raised.value) == f"key expired at {account.expires_at.isoformat()}"  # type: ignore[union-attr]

    def test_expired_with_wrong_secret_is_invalid_not_expired(self) -> None:
        account, _ = make_account(expires_at=timezone.now() - timedelta(days=1))
        with pytest.raises(InvalidCredentials):
            services.authenticate(account.api_id, "wrong")


@pytest.mark.django_db
class TestSecretsAndQuota:
    def test_rotate_retires_the_old_secret(self) -> None:
        account, old = make_account()
        new = services.account_rotate_secret(account)
        assert new != old
        with pytest.raises(InvalidCredentials):
            services.authenticate(account.api_id, old)
        assert services.authenticate(account.api_id, new).pk == account.pk

    def test_top_up_raises_the_limit(self) -> None:
        account, _ = make_account(quota=10)
        services.account_top_up(account, 1_000)
        account.refresh_from_db()
        assert account.quota_limit == 1_010

    def test_top_up_lets_an_exhausted_account_call_again(self) -> None:
        account, _ = make_account(quota=1)
        assert services.quota_consume(account)
        assert not services.quota_consume(account)
        services.account_top_up(account, 1)
        assert services.quota_consume(account)

    def test_quota_consume_is_exact(self) -> None:
        account, _ = make_account(quota=3)
        results = [services.quota_consume(account) for _ in range(5)]
        assert results == [True, True, True, False, False]
        account.refresh_from_db()
        assert account.quota_used == 3
        assert not services.quota_available(account)

    def test_zero_quota_allows_nothing(self) -> None:
        account, _ = make_account(quota=0)
        assert not services.quota_consume(account)


@pytest.mark.django_db(transaction=True)
def test_quota_consume_is_exact_under_concurrency() -> None:
    account, _ = make_account(quota=5)
    start = threading.Barrier(8)
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def call() -> None:
        try:
            start.wait()
            consumed = services.quota_consume(account)
            with lock:
                results.append(consumed)
        except BaseException as error:
            with lock:
                errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == [False] * 3 + [True] * 5
    account.refresh_from_db()
    assert account.quota_used == 5


LOCAL_MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.mark.django_db
class TestRateLimit:
    """At most `rate_limit` calls pass in any one-second window, wherever the second starts."""

    @pytest.fixture
    def clock(self, monkeypatch: pytest.MonkeyPatch, settings: Any) -> SimpleNamespace:
        # The process's clock, which the local-memory cache's expiry reads too; that cache
        # here even in the services pass, since Redis keeps its own time.
        settings.CACHES = LOCAL_MEMORY
        clock = SimpleNamespace(now=1_700_000_000.25)
        monkeypatch.setattr(time, "time", lambda: clock.now)
        return clock

    def test_trips_after_rate_limit_calls_in_one_second(self, clock: SimpleNamespace) -> None:
        account, _ = make_account(rate=3)
        assert [services.rate_limit_exceeded(account) for _ in range(5)] == [False, False, False, True, True]

    def test_a_second_later_the_calls_pass_again(self, clock: SimpleNamespace) -> None:
        account, _ = make_account(rate=2)
        assert [services.rate_limit_exceeded(account) for _ in range(3)] == [False, False, True]
        clock.now += 1
        assert [services.rate_limit_exceeded(account) for _ in range(3)] == [False, False, True]

    def test_a_burst_across_a_second_boundary_is_not_doubled(self, clock: SimpleNamespace) -> None:
        account, _ = make_account(rate=5)
        clock.now = 1_700_000_000.9
        assert [services.rate_limit_exceeded(account) for _ in range(6)] == [False] * 5 + [True]
        clock.now += 0.2  # into the next second, 0.2 s after the five
        assert [services.rate_limit_exceeded(account) for _ in range(5)] == [True] * 5
        clock.now += 0.8  # one second after the five
        assert [services.rate_limit_exceeded(account) for _ in range(6)] == [False] * 5 + [True]

    def test_no_one_second_window_ever_holds_more_than_the_limit(self, clock: SimpleNamespace) -> None:
        """Random bursts and pauses: every window [t, t + 1) holds at most `limit` passed calls,
        and a call is refused only when `limit` calls passed in the second before it."""
        account, _ = make_account(rate=4)
        chosen = random.Random(6)
        passed: list[float] = []
        for _ in range(400):
            clock.now += chosen.expovariate(12)
            recent = sum(1 for at in passed if at > clock.now - 1)
            refused = services.rate_limit_exceeded(account)
            assert refused == (recent >= 4), (clock.now, recent)
            if not refused:
                passed.append(clock.now)
        assert max(sum(1 for other in passed if at <= other < at + 1) for at in passed) == 4
        assert len(passed) > 100  # the schedule did test the limit, not just idle

    def test_accounts_are_counted_apart(self, clock: SimpleNamespace) -> None:
        first, _ = make_account(rate=1)
        second, _ = services.account_create(username="bob", rate=1)
        assert not services.rate_limit_exceeded(first)
        assert not services.rate_limit_exceeded(second)
        assert services.rate_limit_exceeded(first)

    def test_zero_means_unlimited(self, clock: SimpleNamespace) -> None:
        account, _ = make_account(rate=0)
        assert not any(services.rate_limit_exceeded(account) for _ in range(100))

    def test_a_changed_limit_applies_within_a_second(self, clock: SimpleNamespace) -> None:
        account, _ = make_account(rate=5)
        assert not any(services.rate_limit_exceeded(account) for _ in range(5))
        account.rate_limit = 2
        clock.now += 1
        assert [services.rate_limit_exceeded(account) for _ in range(3)] == [False, False, True]
        account.rate_limit = 3
        assert [services.rate_limit_exceeded(account) for _ in range(2)] == [False, True]


@pytest.mark.django_db
def test_concurrent_calls_across_a_second_boundary_pass_at_most_the_limit() -> None:
    """20 threads against the configured cache (Redis in the services pass), spread over
    0.2 s that straddle the turn of a second on the real clock: 5 pass, not 5 per second."""
    account, _ = make_account(rate=5)
    while not 0.85 <= time.time() % 1 < 0.88:  # waits less than a second
        time.sleep(0.005)
    start = time.monotonic()
    results: list[bool] = []
    lock = threading.Lock()

    def call(index: int) -> None:
        time.sleep(max(0.0, start + index * 0.01 - time.monotonic()))
        refused = services.rate_limit_exceeded(account)
        with lock:
            results.append(refused)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - start < 0.9  # all within one second of the first
    assert results.count(False) == 5


@pytest.mark.django_db
class TestConcurrencySlot:
    def test_refuses_beyond_the_limit_and_frees_on_exit(self) -> None:
        account, _ = make_account(concurrency=2)
        with ExitStack() as held:
            held.enter_context(services.concurrency_slot(account))
            held.enter_context(services.concurrency_slot(account))
            with pytest.raises(ConcurrencyLimitExceeded), services.concurrency_slot(account):
                pass
        # Both slots, and the refused attempt's, are given back: exactly two can be held again.
        with ExitStack() as held:
            held.enter_context(services.concurrency_slot(account))
            held.enter_context(services.concurrency_slot(account))
            with pytest.raises(ConcurrencyLimitExceeded), services.concurrency_slot(account):
                pass

    def test_frees_the_slot_when_the_call_fails(self) -> None:
        account, _ = make_account(concurrency=1)
        with pytest.raises(RuntimeError), services.concurrency_slot(account):
            raise RuntimeError("engine failed")
        with ExitStack() as held:
            held.enter_context(services.concurrency_slot(account))
            with pytest.raises(ConcurrencyLimitExceeded), services.concurrency_slot(account):
                pass

    def test_zero_means_unlimited(self) -> None:
        account, _ = make_account(concurrency=0)
        with ExitStack() as held:
            for _ in range(50):
                held.enter_context(services.concurrency_slot(account))  # none is refused
            # ...and none was counted: with a limit of 1 now, one slot is free, not fewer.
            account.concurrency_limit = 1
            held.enter_context(services.concurrency_slot(account))
            with pytest.raises(ConcurrencyLimitExceeded), services.concurrency_slot(account):
                pass
