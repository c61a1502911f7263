"""Two app servers on the same PostgreSQL, Redis and S3 store act as one service: images,
quota and rate limit are shared, and stored images really are objects in the bucket.

Runs in the services pass (scripts/test-services sets FACEPORTAL_SERVICES=1 and the
services' variables); skipped elsewhere. The instances get a database and a bucket of their
own on those servers (the test database of pytest-django is another one, and other tests
leave objects behind), migrated and provisioned through manage.py as an operator would.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from ops.faults import HANG_LIMIT
from ops.load import Call, Client, Reply, multipart
from ops.server import Server, manage
from ops.services import bucket_keys, s3_client, services_expected, services_problem, with_fresh_stores
from tests.conftest import encode, pixels

pytestmark = [pytest.mark.services, pytest.mark.models, pytest.mark.slow]

COMPARE = "/identity/compare_faces_in_two_images"


@pytest.fixture(scope="module")
def services_env() -> dict[str, str]:
    if not services_expected():
        pytest.skip("needs the services pass: scripts/test-services (python -m ops.services -- pytest ...)")
    problem = services_problem()
    if problem:
        pytest.fail(problem)
    return dict(os.environ)


@dataclass(frozen=True)
class Account:
    api_id: str
    api_secret: str

    def post(self, server: Server, fields: Mapping[str, str], files: Mapping[str, bytes]) -> Reply:
        body, content_type = multipart(fields, {name: (f"{name}.jpg", data) for name, data in files.items()})
        query = f"api_id={self.api_id}&api_secret={self.api_secret}"
        client = Client(server.port, timeout=HANG_LIMIT)
        try:
            return client.send(Call(f"{COMPARE}?{query}", body, content_type))
        finally:
            client.close()


@dataclass
class Pair:
    one: Server
    two: Server
    env: dict[str, str]

    def account(self, *, quota: int, rate: int) -> Account:
        user = f"shared-{secrets.token_hex(4)}"
        answer = manage(
            ["create_api_account", "--user", user, "--quota", str(quota), "--rate", str(rate)], self.env
        )
        return Account(**json.loads(answer.strip().splitlines()[-1]))

    def quota_used(self, account: Account) -> int:
        with psycopg.connect(self.env["DATABASE_URL"], connect_timeout=10) as connection:
            row = connection.execute(
                "SELECT quota_used FROM accounts_apiaccount WHERE api_id = %s", [account.api_id]
            ).fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture(scope="module")
def pair(services_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    env = with_fresh_stores(services_env, f"shared-{secrets.token_hex(6)}")
    one = Server(data_dir=tmp_path_factory.mktemp("one"), env=env, workers=1)
    two = Server(data_dir=tmp_path_factory.mktemp("two"), env=env, workers=1)
    one.migrate()  # the database is shared: once is enough for both
    try:
        one.start()
        two.start()
        yield Pair(one, two, {**os.environ, **env, "FACEPORTAL_DATA_DIR": str(one.data_dir)})
    finally:
        for server in (one, two):
            server.stop()


def photo(name: str) -> bytes:
    return encode(pixels(name))


def status(reply: Reply) -> str:
    return str(reply.json().get("status", f"HTTP {reply.status} {reply.error}"))


def test_an_image_stored_through_one_instance_is_used_by_id_on_the_other(pair: Pair) -> None:
    account = pair.account(quota=100, rate=0)
    hopper, astronaut = photo("grace_hopper"), photo("astronaut")

    stored = account.post(pair.one, {}, {"image_one_file": hopper, "image_two_file": astronaut})
    assert stored.status == 200, stored.body
    image_id = stored.json()["image_one"]["image_one_id"]

    again = account.post(pair.two, {"image_one_id": image_id}, {"image_two_file": hopper})
    assert again.status == 200, again.body
    assert again.json()["max_confidence"] > 0.99  # the same photo, read back from the bucket
    unknown = account.post(pair.two, {"image_one_id": "0" * 32}, {"image_two_file": hopper})
    assert status(unknown) == "IMAGE_ID_NOT_EXIST"


def test_the_stored_image_is_an_object_in_the_bucket_with_the_uploaded_bytes(pair: Pair) -> None:
    account = pair.account(quota=100, rate=0)
    hopper = photo("grace_hopper")
    reply = account.post(pair.two, {}, {"image_one_file": hopper, "image_two_file": photo("astronaut")})
    image_id = reply.json()["image_one"]["image_one_id"]

    key = f"images/{image_id[:2]}/{image_id}.jpg"
    assert key in bucket_keys(pair.env, prefix="images/")
    stored = s3_client(pair.env).get_object(Bucket=pair.env["FACEPORTAL_S3_BUCKET"], Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(hopper).hexdigest()
    assert not Path(pair.one.data_dir / "media").exists() and not Path(pair.two.data_dir / "media").exists()


def test_the_quota_is_shared_successes_on_both_stop_exactly_at_the_limit(pair: Pair) -> None:
    account = pair.account(quota=4, rate=0)
    files = {"image_one_file": photo("grace_hopper"), "image_two_file": photo("astronaut")}

    answers = [(server, status(account.post(server, {}, files))) for server in [pair.one, pair.two] * 3]

    assert [code for _, code in answers] == ["OK"] * 4 + ["OUT_OF_QUOTA"] * 2
    assert {server.port for server, code in answers if code == "OK"} == {pair.one.port, pair.two.port}
    assert pair.quota_used(account) == 4


def test_the_rate_limit_is_shared_calls_over_it_on_either_instance_are_refused(pair: Pair) -> None:
    account = pair.account(quota=100, rate=2)
    # A call with no image passes the rate limit, then fails fast without using the quota:
    # INVALID_ARGUMENT says "counted and let through", RATE_LIMIT_EXCEEDED "refused".
    for _ in range(3):  # the three calls must fall in one one-second window of the counter
        time.sleep(1.02 - time.time() % 1)
        second = int(time.time())
        codes = [status(account.post(server, {}, {})) for server in (pair.one, pair.one, pair.two)]
        if int(time.time()) == second:
            break
    else:
        pytest.fail("three calls never fitted in one second")
    # The second instance had seen no call in this second: only a shared counter refuses it.
    assert codes == ["INVALID_ARGUMENT", "INVALID_ARGUMENT", "RATE_LIMIT_EXCEEDED"]
    assert pair.quota_used(account) == 0
