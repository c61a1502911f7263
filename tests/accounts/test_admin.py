"""The operators' admin: every page renders, secrets are shown once, actions do their work.

The pages are served from this module's own URLconf (admin only), so that these tests do
not depend on the API views.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils import timezone

from accounts import services
from accounts.models import ApiAccount, ApiCall
from resources.models import StoredImage
from resources.services import image_store

urlpatterns = [path("admin/", admin.site.urls)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

SECRET_MESSAGE = re.compile(
    r"Secret for (?P<api_id>[0-9a-f]{32}): (?P<secret>[\w-]+) — shown once, store it now"
)


@pytest.fixture(autouse=True)
def isolated(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield settings.MEDIA_ROOT
    cache.clear()


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("operator", "operator@example.com", "pw")


@pytest.fixture
def staff(client: Client, superuser: User) -> Client:
    client.force_login(superuser)
    return client


@pytest.fixture
def account() -> ApiAccount:
    return services.account_create(username="alice", name="alice's app", quota=100)[0]


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


def call(account: ApiAccount | None, status: str = "OK", age: timedelta = timedelta(0)) -> ApiCall:
    return ApiCall.objects.create(
        account=account,
        endpoint="detect",
        request_id=f"req-{ApiCall.objects.count()}-{status}",
        status=status,
        http_status=200 if status == "OK" else 400,
        latency_ms=12.5,
        client_ip="192.0.2.7",
        created_at=timezone.now() - age,
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


class TestEveryPageRenders:
    def test_changelist_add_and_change_of_every_registered_model(
        self, staff: Client, superuser: User, account: ApiAccount
    ) -> None:
        objects: dict[type[Model], Model] = {
            get_user_model(): superuser,
            Group: Group.objects.create(name="operators"),
            ApiAccount: account,
            ApiCall: call(account),
            StoredImage: image(account),
            **liveness_objects(account),
        }
        registered = set(admin.site._registry)
        assert {ApiAccount, ApiCall, StoredImage} <= registered
        for model in registered:
            model_admin = admin.site._registry[model]
            assert staff.get(url(model, "changelist")).status_code == 200, model
            assert staff.get(url(model, "change", objects[model].pk)).status_code == 200, model
            request = staff.get(url(model, "changelist")).wsgi_request
            expected = 200 if model_admin.has_add_permission(request) else 403
            assert staff.get(url(model, "add")).status_code == expected, model

    def test_no_adding_calls_or_images(self, staff: Client) -> None:
        assert staff.get(url(ApiCall, "add")).status_code == 403
        assert staff.get(url(StoredImage, "add")).status_code == 403

    def test_filters_and_search_render(self, staff: Client, account: ApiAccount) -> None:
        call(account)
        image(account)
        for query in (
            "expiry=past",
            "expiry=future",
            "expiry=never",
            "is_active__exact=0",
            f"q={account.api_id}",
        ):
            assert staff.get(f"{url(ApiAccount, 'changelist')}?{query}").status_code == 200, query
        for query in (
            "status=OK",
            "endpoint=detect",
            f"q={account.api_id[:8]}",
            f"account__id__exact={account.pk}",
        ):
            response = staff.get(f"{url(ApiCall, 'changelist')}?{query}")
            assert response.status_code == 200, query
        for query in ("format=PNG", "source=url", f"account__id__exact={account.pk}"):
            assert staff.get(f"{url(StoredImage, 'changelist')}?{query}").status_code == 200, query

    def test_anonymous_is_sent_to_login(self, client: Client) -> None:
        response = client.get(url(ApiAccount, "changelist"))
        assert response.status_code == 302 and "/login/" in response["Location"]


class TestApiAccountAdmin:
    def test_add_generates_the_secret_and_shows_it_once(self, staff: Client) -> None:
        customer = get_user_model().objects.create_user("customer")
        form = {
            "user": customer.pk,
            "name": "mobile app",
            "is_active": "on",
            "expires_at_0": "2031-01-31",
            "expires_at_1": "18:00:00",
            "endpoints": ["detect", "mask"],
            "rate_limit": "5",
            "concurrency_limit": "2",
            "quota_limit": "2500",
        }
        response = staff.post(url(ApiAccount, "add"), form, follow=True)
        assert response.status_code == 200
        account = ApiAccount.objects.get()
        shown = secrets_shown(response)
        assert list(shown) == [account.api_id]
        assert services.hash_secret(shown[account.api_id]) == account.secret_hash
        assert services.authenticate(account.api_id, shown[account.api_id]).pk == account.pk
        assert (account.user, account.name, account.endpoints) == (customer, "mobile app", ["detect", "mask"])
        assert (account.rate_limit, account.concurrency_limit, account.quota_limit) == (5, 2, 2500)
        # Once: the next page no longer has it.
        assert secrets_shown(staff.get(url(ApiAccount, "change", account.pk))) == {}

    def test_add_form_asks_for_no_secret_and_offers_every_endpoint(self, staff: Client) -> None:
        html = staff.get(url(ApiAccount, "add")).content.decode()
        assert "secret" not in html.lower()
        assert 'name="api_id"' not in html
        assert len(re.findall(r'type="checkbox" name="endpoints"[^>]* checked', html)) == 5

    def test_change_page_never_shows_the_hash(self, staff: Client, account: ApiAccount) -> None:
        call(account)
        html = staff.get(url(ApiAccount, "change", account.pk)).content.decode()
        assert account.secret_hash not in html
        assert account.api_id in html
        for listing in (
            url(ApiAccount, "changelist"),
            url(ApiCall, "changelist"),
            url(ApiAccount, "history", account.pk),
        ):
            assert account.secret_hash not in staff.get(listing).content.decode()

    def test_change_saves_endpoints_as_a_list(self, staff: Client, account: ApiAccount) -> None:
        form = {
            "user": account.user.pk,
            "name": account.name,
            "is_active": "on",
            "expires_at_0": "",
            "expires_at_1": "",
            "endpoints": ["mask", "compare"],
            "rate_limit": "10",
            "concurrency_limit": "4",
            "quota_limit": "100",
        }
        old_hash = account.secret_hash
        response = staff.post(url(ApiAccount, "change", account.pk), form, follow=True)
        assert response.status_code == 200 and secrets_shown(response) == {}
        account.refresh_from_db()
        assert account.endpoints == ["compare", "mask"]  # in the Endpoint order
        assert account.secret_hash == old_hash

    def test_usage_field(self, staff: Client, account: ApiAccount) -> None:
        call(account)
        call(account, status="IMAGE_ERROR_UNSUPPORTED_FORMAT")
        call(account, age=timedelta(days=3))
        call(account, age=timedelta(days=20))
        call(account, age=timedelta(days=45))
        call(None)
        html = staff.get(url(ApiAccount, "change", account.pk)).content.decode()
        assert "last 7 days: 3 · last 30 days: 4" in html
        assert "Last 30 days: 3 OK, 1 error" in html
        assert f"{url(ApiCall, 'changelist')}?account__id__exact={account.pk}" in html

    def test_rotate_action_confirms_then_shows_a_new_secret(self, staff: Client, account: ApiAccount) -> None:
        old_hash = account.secret_hash
        confirmation = act(staff, "rotate_secret", [account])
        assert confirmation.status_code == 200 and "Yes, rotate" in confirmation.content.decode()
        assert ApiAccount.objects.get().secret_hash == old_hash

        response = act(staff, "rotate_secret", [account], confirmed="yes")
        shown = secrets_shown(response)
        assert list(shown) == [account.api_id]
        account.refresh_from_db()
        assert account.secret_hash != old_hash
        assert services.hash_secret(shown[account.api_id]) == account.secret_hash

    def test_top_up_actions(self, staff: Client, account: ApiAccount) -> None:
        act(staff, "top_up_1000", [account])
        account.refresh_from_db()
        assert account.quota_limit == 1_100
        act(staff, "top_up_10000", [account])
        account.refresh_from_db()
        assert account.quota_limit == 11_100

    def test_extend_expiry(self, staff: Client) -> None:
        now = timezone.now()
        expired = services.account_create(username="a", expires_at=now - timedelta(days=10))[0]
        running = services.account_create(username="b", expires_at=now + timedelta(days=5))[0]
        unlimited = services.account_create(username="c")[0]
        response = act(staff, "extend_expiry_30_days", [expired, running, unlimited])
        extended = "Extended 2 accounts by 30 days; 1 account without expiry left unlimited."
        assert extended in messages_of(response)
        for account in (expired, running, unlimited):
            account.refresh_from_db()
        assert expired.expires_at is not None and running.expires_at is not None
        # An expired account gets 30 days from now, a running one 30 more days.
        assert now + timedelta(days=30) <= expired.expires_at <= timezone.now() + timedelta(days=30)
        assert running.expires_at == now + timedelta(days=35)
        assert unlimited.expires_at is None

    def test_deactivate_and_activate(self, staff: Client, account: ApiAccount) -> None:
        act(staff, "deactivate", [account])
        account.refresh_from_db()
        assert not account.is_active
        act(staff, "activate", [account])
        account.refresh_from_db()
        assert account.is_active

    def test_delete_images_action(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: Callable[..., Any]
    ) -> None:
        other = services.account_create(username="bob")[0]
        mine, theirs = image(account), image(other)
        confirmation = act(staff, "delete_images", [account])
        assert "1 stored image of these accounts will be deleted" in confirmation.content.decode()
        assert StoredImage.objects.count() == 2
        with django_capture_on_commit_callbacks(execute=True):
            response = act(staff, "delete_images", [account], confirmed="yes")
        assert "Deleted 1 stored image." in messages_of(response)
        assert list(StoredImage.objects.all()) == [theirs]
        assert not Path(mine.file.path).exists()
        assert Path(theirs.file.path).is_file()

    def test_changelist_usage_has_no_n_plus_1(
        self, staff: Client, django_assert_max_num_queries: Callable[..., Any]
    ) -> None:
        def add_account(n: int) -> None:
            account = services.account_create(username=f"user{n}")[0]
            call(account)
            call(account, status="ERROR", age=timedelta(days=2))

        add_account(0)
        with CaptureQueriesContext(connection) as one_account:
            assert staff.get(url(ApiAccount, "changelist")).status_code == 200
        for n in range(1, 30):
            add_account(n)
        with django_assert_max_num_queries(len(one_account)):
            response = staff.get(url(ApiAccount, "changelist"))
        assert response.status_code == 200
        assert response.content.decode().count("1 / 2 / 2 (1 error)") == 30


class TestApiCallAdmin:
    def test_read_only(self, staff: Client, account: ApiAccount) -> None:
        record = call(account)
        html = staff.get(url(ApiCall, "change", record.pk)).content.decode()
        assert record.request_id in html
        assert 'name="_save"' not in html
        request = staff.get(url(ApiCall, "changelist")).wsgi_request
        call_admin = admin.site._registry[ApiCall]
        assert not call_admin.has_add_permission(request)
        assert not call_admin.has_change_permission(request, record)
        assert call_admin.has_delete_permission(request, record)

    def test_staff_without_superuser_cannot_delete(self, client: Client, account: ApiAccount) -> None:
        clerk = get_user_model().objects.create_user("clerk", is_staff=True)
        client.force_login(clerk)
        request = client.get(url(ApiCall, "changelist")).wsgi_request
        assert not admin.site._registry[ApiCall].has_delete_permission(request, call(account))

    def test_changelist_queries_do_not_grow_with_rows(
        self, staff: Client, account: ApiAccount, django_assert_max_num_queries: Callable[..., Any]
    ) -> None:
        call(account)
        with CaptureQueriesContext(connection) as one_call:
            staff.get(url(ApiCall, "changelist"))
        for _ in range(30):
            call(account)
        with django_assert_max_num_queries(len(one_call)):
            staff.get(url(ApiCall, "changelist"))


class TestStoredImageAdmin:
    def test_lists_dimensions_and_size(self, staff: Client, account: ApiAccount) -> None:
        stored = image(account)
        html = staff.get(url(StoredImage, "changelist")).content.decode()
        assert stored.id in html and "640 x 480" in html and "6\xa0bytes" in html

    def test_bulk_delete_removes_files(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: Callable[..., Any]
    ) -> None:
        images = [image(account), image(account)]
        with django_capture_on_commit_callbacks(execute=True):
            response = staff.post(
                url(StoredImage, "changelist"),
                {"action": "delete_selected", "_selected_action": [i.pk for i in images], "post": "yes"},
                follow=True,
            )
        assert response.status_code == 200
        assert not StoredImage.objects.exists()
        assert not any(Path(i.file.path).exists() for i in images)

    def test_purge_action_needs_no_selection(
        self, staff: Client, account: ApiAccount, django_capture_on_commit_callbacks: Callable[..., Any]
    ) -> None:
        old, recent = image(account, timedelta(days=40)), image(account, timedelta(days=2))
        with django_capture_on_commit_callbacks(execute=True):
            response = staff.post(
                url(StoredImage, "changelist"), {"action": "purge_expired_images", "index": "0"}, follow=True
            )
        assert "Purged 1 image older than 30 days." in messages_of(response)
        assert list(StoredImage.objects.all()) == [recent]
        assert not Path(old.file.path).exists()


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
