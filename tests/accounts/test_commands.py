"""The operator commands create_api_account and purge_images."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import services
from accounts.models import ApiAccount
from accounts.services import KeyExpired
from resources.models import StoredImage
from resources.services import image_store
from tests.storage import exists

ISO_WITH_OFFSET = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}"


def run(*args: str) -> tuple[list[str], dict[str, str]]:
    """The command's output lines and the JSON object of its last line."""
    out = StringIO()
    call_command("create_api_account", *args, stdout=out)
    lines = out.getvalue().rstrip("\n").split("\n")
    return lines, json.loads(lines[-1])


@pytest.mark.django_db
class TestCreateApiAccount:
    def test_last_line_is_json_whose_secret_authenticates(self) -> None:
        lines, credentials = run("--user", "alice", "--name", "staging")
        assert set(credentials) == {"api_id", "api_secret"}
        assert len(lines) > 1, "human-readable lines come first"
        account = services.authenticate(credentials["api_id"], credentials["api_secret"])
        assert account.user.username == "alice"
        assert account.name == "staging"
        assert credentials["api_secret"] not in account.secret_hash

    def test_options_set_the_limits(self) -> None:
        _, credentials = run(
            "--user",
            "alice",
            "--quota",
            "50",
            "--rate",
            "0",
            "--concurrency",
            "2",
            "--endpoints",
            "compare,detect",
        )
        account = ApiAccount.objects.get(api_id=credentials["api_id"])
        assert (account.quota_limit, account.rate_limit, account.concurrency_limit) == (50, 0, 2)
        assert account.endpoints == ["compare", "detect"]
        assert account.expires_at is None

    def test_defaults_allow_every_endpoint(self) -> None:
        _, credentials = run("--user", "alice")
        account = ApiAccount.objects.get(api_id=credentials["api_id"])
        assert account.endpoints == [
            "detect",
            "compare",
            "mask",
            "upload_liveness",
            "liveness_verification",
            *(f"faceset_{verb}" for verb in ("create", "add_face", "search_face", "delete_face", "delete")),
            "faceset_list",
            "faceset_info",
        ]

    def test_reuses_an_existing_user(self) -> None:
        user = get_user_model().objects.create_user(username="alice")
        lines, first = run("--user", "alice")
        _, second = run("--user", "alice")
        assert get_user_model().objects.count() == 1
        assert ApiAccount.objects.filter(user=user).count() == 2
        assert first["api_id"] != second["api_id"]
        assert "Using existing user alice" in lines

    def test_date_is_the_end_of_that_day_in_the_time_zone(self, settings: Any) -> None:
        settings.TIME_ZONE = "Asia/Tokyo"
        _, credentials = run("--user", "alice", "--expires", "2031-03-15")
        account = ApiAccount.objects.get(api_id=credentials["api_id"])
        assert account.expires_at == datetime(2031, 3, 15, 23, 59, 59, tzinfo=ZoneInfo("Asia/Tokyo"))

    def test_full_datetime_with_offset(self) -> None:
        _, credentials = run("--user", "alice", "--expires", "2031-03-15T08:30:00+02:00")
        account = ApiAccount.objects.get(api_id=credentials["api_id"])
        assert account.expires_at == datetime(2031, 3, 15, 6, 30, tzinfo=ZoneInfo("UTC"))

    def test_past_expiry_is_accepted_and_refused_as_expired(self) -> None:
        lines, credentials = run("--user", "alice", "--expires", "2020-01-01")
        assert any("already past" in line for line in lines)
        with pytest.raises(KeyExpired) as raised:
            services.authenticate(credentials["api_id"], credentials["api_secret"])
        message = str(raised.value)
        assert re.fullmatch(f"key expired at {ISO_WITH_OFFSET}", message), message
        expired_at = datetime.fromisoformat(message.removeprefix("key expired at "))
        assert expired_at == timezone.make_aware(datetime(2020, 1, 1, 23, 59, 59))

    @pytest.mark.parametrize(
        ("args", "complaint"),
        [
            (["--endpoints", "detect,selfie"], "unknown endpoint(s) selfie"),
            (["--endpoints", ","], "at least one endpoint"),
            (["--quota", "-1"], "--quota"),
            (["--rate", "-5"], "--rate"),
            (["--concurrency", "-2"], "--concurrency"),
            (["--quota", "many"], "--quota"),
            (["--expires", "2030-02-30"], "not a valid date"),
            (["--expires", "tomorrow"], "expected YYYY-MM-DD"),
            (["--expires", "2030-01-01T10:00:00"], "needs its UTC offset"),
            (["--quota", str(2**64)], "--quota: Ensure this value is less than or equal to"),
            (["--name", "x" * 101], "--name: Ensure this value has at most 100 characters"),
        ],
    )
    def test_bad_input_creates_nothing(self, args: list[str], complaint: str) -> None:
        with pytest.raises(CommandError, match=re.escape(complaint)):
            run("--user", "newcomer", *args)
        assert not get_user_model().objects.exists()
        assert not ApiAccount.objects.exists()

    def test_keyword_options_are_checked_too(self) -> None:
        with pytest.raises(CommandError, match="--quota: must be 0 or more"):
            call_command("create_api_account", user="newcomer", quota=-1, stdout=StringIO())
        assert not get_user_model().objects.exists()

    def test_invalid_username(self) -> None:
        with pytest.raises(CommandError, match="--user"):
            run("--user", "no spaces allowed")
        assert not get_user_model().objects.exists()


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def store(account: ApiAccount, age: timedelta = timedelta(0)) -> StoredImage:
    image = image_store(
        account=account, data=b"not really a jpeg", format="JPEG", width=4, height=3, source="file"
    )
    if age:
        StoredImage.objects.filter(pk=image.pk).update(created_at=timezone.now() - age)
    return image


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_images", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
class TestPurgeImages:
    @pytest.fixture
    def account(self) -> ApiAccount:
        return services.account_create(username="alice")[0]

    def test_deletes_old_images_and_their_files(
        self, media: Path, account: ApiAccount, django_capture_on_commit_callbacks: Callable[..., Any]
    ) -> None:
        old, recent = store(account, timedelta(days=40)), store(account, timedelta(days=1))
        old_file, recent_file = old.file.name, recent.file.name
        assert exists(old_file) and exists(recent_file)
        # Files go once the deletion commits; the test's transaction never does by itself.
        with django_capture_on_commit_callbacks(execute=True):
            output = purge()
        assert "Deleted 1 stored image older than 30 days" in output
        assert list(StoredImage.objects.values_list("pk", flat=True)) == [recent.pk]
        assert not exists(old_file)
        assert exists(recent_file)

    def test_retention_comes_from_settings(self, settings: Any, media: Path, account: ApiAccount) -> None:
        settings.FACEPORTAL_IMAGE_RETENTION_DAYS = 50
        store(account, timedelta(days=40))
        assert "Deleted 0 stored images older than 50 days" in purge()
        assert StoredImage.objects.count() == 1

    def test_dry_run_deletes_nothing(
        self, media: Path, account: ApiAccount, django_capture_on_commit_callbacks: Callable[..., Any]
    ) -> None:
        old = store(account, timedelta(days=40))
        store(account)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            output = purge("--dry-run")
        assert "Would delete 1 stored image older than 30 days" in output
        assert callbacks == []
        assert StoredImage.objects.count() == 2
        assert exists(old.file.name)

    def test_account_deletes_all_of_its_images_only(
        self, media: Path, account: ApiAccount, django_capture_on_commit_callbacks: Callable[..., Any]
    ) -> None:
        other = services.account_create(username="bob")[0]
        mine = [store(account), store(account, timedelta(days=40))]
        theirs = store(other)
        assert f"Would delete 2 stored images of account {account.api_id}" in purge(
            "--account", account.api_id, "--dry-run"
        )
        with django_capture_on_commit_callbacks(execute=True):
            output = purge("--account", account.api_id)
        assert f"Deleted 2 stored images of account {account.api_id}" in output
        assert list(StoredImage.objects.all()) == [theirs]
        assert not any(exists(image.file.name) for image in mine)
        assert exists(theirs.file.name)

    def test_unknown_account(self, media: Path) -> None:
        with pytest.raises(CommandError, match="no API account"):
            purge("--account", "f" * 32)
