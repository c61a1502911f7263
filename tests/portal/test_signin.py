"""Sign-in throttling: per account, per client address, on every form that checks a password;
a lockout that expires, and refused attempts that cost no password hash."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory

from faceportal.clientip import client_address
from portal import signin

PASSWORD = "a long test passphrase 7"
LOGIN = "/portal/login/"
ADMIN_LOGIN = "/admin/login/"
LOCKED = "Too many failed sign-ins; try again in 15 minutes."


@pytest.fixture(autouse=True)
def limits(settings: Any) -> None:
    # A fast hasher: the tests count hashes, they do not need to pay for them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.FACEPORTAL_SIGNIN_FAILURES_PER_USER = 5
    settings.FACEPORTAL_SIGNIN_FAILURES_PER_ADDRESS = 20
    settings.FACEPORTAL_SIGNIN_LOCKOUT_MINUTES = 15


@pytest.fixture
def user(db: None) -> Any:
    return get_user_model().objects.create_user(username="ada", password=PASSWORD)


@pytest.fixture
def staff(db: None) -> Any:
    return get_user_model().objects.create_superuser(username="root", password=PASSWORD)


@pytest.fixture
def hashes() -> Iterator[mock.MagicMock]:
    """Counts every password hash computed: checking a password (verify) hashes it with encode,
    and so does hashing a new one."""
    with mock.patch.object(
        MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode
    ) as encode:
        yield encode


def sign_in(client: Client, username: str, password: str, url: str = LOGIN, **meta: Any) -> Any:
    """POSTs the sign-in form; `meta` are WSGI environ entries (REMOTE_ADDR, HTTP_...)."""
    return client.post(url, {"username": username, "password": password}, **meta)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_after_five_wrong_passwords_even_the_right_one_is_refused(client: Client, user: Any) -> None:
    for _ in range(5):
        wrong = sign_in(client, "ada", "wrong")
        assert wrong.status_code == 200 and b"Please enter a correct username and password" in wrong.content

    refused = sign_in(client, "ada", PASSWORD)

    assert refused.status_code == 429 and refused["Retry-After"] == "900"
    assert LOCKED in refused.content.decode()
    assert not signed_in(client)


def test_the_lockout_expires(client: Client, user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(6):
        sign_in(client, "ada", "wrong")
    assert sign_in(client, "ada", PASSWORD).status_code == 429
    later = time.time() + 14 * 60
    monkeypatch.setattr(signin, "_now", lambda: later)
    almost = sign_in(client, "ada", PASSWORD)
    assert almost.status_code == 429 and "try again in 1 minute." in almost.content.decode()

    monkeypatch.setattr(signin, "_now", lambda: later + 61)

    assert sign_in(client, "ada", PASSWORD).status_code == 302 and signed_in(client)


def test_a_success_clears_the_accounts_failures(client: Client, user: Any) -> None:
    for _ in range(4):
        sign_in(client, "ada", "wrong")
    assert sign_in(client, "ada", PASSWORD).status_code == 302
    client.post("/portal/logout/")
    for _ in range(5):
        assert sign_in(client, "ada", "wrong").status_code == 200
    assert sign_in(client, "ada", "wrong").status_code == 429


def test_a_refused_attempt_computes_no_password_hash(
    client: Client, user: Any, hashes: mock.MagicMock
) -> None:
    sign_in(client, "ada", "wrong")
    assert hashes.call_count == 1  # a checked attempt costs one hash (the spy works)
    sign_in(client, "nobody", "wrong")
    assert hashes.call_count == 2  # an unknown user costs one too (Django hashes to hide who exists)
    for _ in range(4):
        sign_in(client, "ada", "wrong")
    counted = hashes.call_count

    for password in ("wrong", PASSWORD, "again"):
        assert sign_in(client, "ada", password).status_code == 429

    assert hashes.call_count == counted


def test_one_address_is_locked_out_across_usernames(client: Client, user: Any, settings: Any) -> None:
    settings.FACEPORTAL_SIGNIN_FAILURES_PER_ADDRESS = 3
    attacker = {"REMOTE_ADDR": "198.51.100.7"}
    for name in ("eve1", "eve2", "eve3"):
        assert sign_in(client, name, "guess", **attacker).status_code == 200

    refused = sign_in(client, "ada", PASSWORD, **attacker)

    assert refused.status_code == 429 and LOCKED in refused.content.decode()
    # The account itself is not locked: from elsewhere its owner signs in.
    assert sign_in(Client(), "ada", PASSWORD, REMOTE_ADDR="203.0.113.20").status_code == 302


def test_a_client_cannot_escape_its_lockout_by_writing_x_forwarded_for(
    client: Client, user: Any, settings: Any
) -> None:
    settings.FACEPORTAL_SIGNIN_FAILURES_PER_ADDRESS = 3
    for index in range(3):
        forged = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": f"10.0.0.{index}"}
        sign_in(client, f"eve{index}", "guess", **forged)
    forged = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "10.9.9.9"}
    assert sign_in(client, "ada", PASSWORD, **forged).status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_counts_alone(
    client: Client, user: Any, settings: Any
) -> None:
    settings.FACEPORTAL_SIGNIN_FAILURES_PER_ADDRESS = 3
    # What nginx sends: whatever the client wrote, then the address nginx saw.
    attacker = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.7"}
    for name in ("eve1", "eve2", "eve3"):
        sign_in(client, name, "guess", **attacker)
    assert sign_in(client, "ada", PASSWORD, **attacker).status_code == 429
    other = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.20"}
    assert sign_in(Client(), "ada", PASSWORD, **other).status_code == 302


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("198.51.100.7", "", "198.51.100.7"),
        ("198.51.100.7", "10.0.0.1", "198.51.100.7"),  # not from a trusted proxy: ignored
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "forged, 203.0.113.5", "203.0.113.5"),
        ("127.0.0.1", "203.0.113.5, 127.0.0.1", "203.0.113.5"),  # two trusted hops
        ("127.0.0.1", "garbage", "127.0.0.1"),
        ("::1", "2001:db8::5", "2001:db8::5"),
        ("not an address", "203.0.113.5", ""),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(remote: str, forwarded: str, expected: str) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_an_ipv6_subscribers_addresses_count_together(settings: Any) -> None:
    settings.FACEPORTAL_SIGNIN_FAILURES_PER_ADDRESS = 2
    assert signin.attempt(address="2001:db8:1:2::1") == 0
    assert signin.attempt(address="2001:db8:1:2:ffff::9") == 0
    assert signin.attempt(address="2001:db8:1:2:abcd::3") == 900
    assert signin.attempt(address="2001:db8:1:3::1") == 0  # another /64


def test_parallel_guesses_cannot_pass_the_limit() -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        waits = list(
            pool.map(lambda index: signin.attempt(username="ada", address=f"192.0.2.{index}"), range(60))
        )
    assert waits.count(0) == 5


def test_the_admin_sign_in_is_throttled_too(client: Client, staff: Any, hashes: mock.MagicMock) -> None:
    for _ in range(5):
        wrong = sign_in(client, "root", "wrong", ADMIN_LOGIN)
        assert wrong.status_code == 200 and b"Please enter the correct username and password" in wrong.content
    counted = hashes.call_count

    refused = sign_in(client, "root", PASSWORD, ADMIN_LOGIN)

    assert refused.status_code == 429 and LOCKED in refused.content.decode()
    assert not signed_in(client) and hashes.call_count == counted
    # One counter for both doors: the portal's sign-in is locked for that account too.
    assert sign_in(client, "root", PASSWORD).status_code == 429


@pytest.mark.parametrize("url", ["/portal/password/", "/admin/password_change/"])
def test_guessing_the_old_password_is_throttled(url: str, staff: Any, hashes: mock.MagicMock) -> None:
    client = Client()
    client.force_login(staff)
    new = "another long passphrase 9"
    for _ in range(5):
        wrong = client.post(url, {"old_password": "wrong", "new_password1": new, "new_password2": new})
        assert wrong.status_code == 200 and b"Your old password was entered incorrectly" in wrong.content
    counted = hashes.call_count

    refused = client.post(url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new})

    assert refused.status_code == 429
    assert "Too many wrong passwords; try again in 15 minutes." in refused.content.decode()
    assert hashes.call_count == counted
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)


def test_sign_ups_count_against_their_address(settings: Any, db: None) -> None:
    settings.FACEPORTAL_SIGNUP = True
    settings.FACEPORTAL_SIGNIN_FAILURES_PER_ADDRESS = 2
    for name in ("grace", "hopper"):
        form = {"username": name, "password1": PASSWORD, "password2": PASSWORD}
        assert Client().post("/portal/signup/", form).status_code == 302

    form = {"username": "third", "password1": PASSWORD, "password2": PASSWORD}
    refused = Client().post("/portal/signup/", form)

    assert (
        refused.status_code == 429
        and "Too many sign-ins and sign-ups from your address" in refused.content.decode()
    )
    assert not get_user_model().objects.filter(username="third").exists()


def test_the_operator_can_lift_a_lockout(client: Client, user: Any) -> None:
    for _ in range(6):
        sign_in(client, "ada", "wrong")
    assert sign_in(client, "ada", PASSWORD).status_code == 429

    call_command("signin_unlock", "--user", "ada", stdout=io.StringIO())

    assert sign_in(client, "ada", PASSWORD).status_code == 302
    with pytest.raises(CommandError):
        call_command("signin_unlock")
