"""The operators' admin: every page renders, secrets are shown once, actions do their work,
usage figures are right and cost a fixed number of queries.

The pages are served from this module's own URLconf (admin only), so that these tests do
not depend on the API views.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.core.cache import cache
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils import timezone

from accounts import services
from accounts.models import ApiAccount, ApiCall
from accounts.selectors import latency_percentile
from resources.models import StoredImage
from resources.services import image_store
from tests.storage import exists

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

    def test_filters_and_search_show_exactly_the_matching_rows(
        self, staff: Client, account: ApiAccount
    ) -> None:
        now = timezone.now()
        expired = services.account_create(username="bob", expires_at=now - timedelta(days=1))[0]
        paused = services.account_create(username="carol", expires_at=now + timedelta(days=9))[0]
        ApiAccount.objects.filter(pk=paused.pk).update(is_active=False)
        ok = call(account)
        other = call(expired, "NO_FACE_DETECTED", endpoint="compare")
        anonymous = call(None, "AUTHORIZATION_ERROR")
        old = call(account, age=timedelta(days=400), endpoint="compare")
        png = image(account)
        jpeg = image_store(account=paused, data=b"x", format="JPEG", width=8, height=8, source="file")

        def shown(model: type[Model], query: str) -> set[Any]:
            response = staff.get(f"{url(model, 'changelist')}?{query}")
            assert response.status_code == 200, query
            return {row.pk for row in response.context["cl"].result_list}

        username = account.user.email or account.user.username
        assert shown(ApiAccount, "") == {account.pk, expired.pk, paused.pk}
        for query, rows in (
            ("expiry=past", {expired}),
            ("expiry=future", {paused}),
            ("expiry=never", {account}),
            ("is_active__exact=0", {paused}),
            (f"q={account.api_id}", {account}),
            (f"q={username}", {account}),
        ):
            assert shown(ApiAccount, query) == {row.pk for row in rows}, query
        assert shown(ApiCall, "") == {ok.pk, other.pk, anonymous.pk, old.pk}
        for query, calls in (
            ("status=OK", {ok, old}),
            ("endpoint=detect", {ok, anonymous}),
            ("http_status=200", {ok, old}),
            (f"created_at__year={now.year}", {ok, other, anonymous}),
            (f"q={account.api_id[:8]}", {ok, old}),
            (f"api_id={account.api_id}", {ok, old}),
            ("api_id=none", {anonymous}),
            ("api_id=no-such-account", set()),
        ):
            assert shown(ApiCall, query) == {row.pk for row in calls}, query
        assert shown(StoredImage, "") == {png.pk, jpeg.pk}
        for query, images in (
            ("format=PNG", {png}),
            ("source=url", {png}),
            (f"api_id={account.api_id}", {png}),
            (f"api_id={paused.api_id}", {jpeg}),
        ):
            assert shown(StoredImage, query) == {row.pk for row in images}, query

    def test_site_is_named_and_links_the_portal(self, staff: Client) -> None:
        html = staff.get(reverse("admin:index")).content.decode()
        assert "FacePortal administration" in html
        assert "<title>Accounts, calls and stored data | FacePortal admin</title>" in html
        assert 'href="/portal/"' in html

    def test_anonymous_is_sent_to_login(self, client: Client) -> None:
        response = client.get(url(ApiAccount, "changelist"))
        assert response.status_code == 302 and "/login/" in response["Location"]

    def test_a_signed_in_user_who_is_not_staff_is_sent_to_login_too(
        self, client: Client, account: ApiAccount
    ) -> None:
        client.force_login(account.user)  # a customer, signed in to the portal
        for page in (
            reverse("admin:index"),
            url(ApiAccount, "changelist"),
            url(ApiAccount, "change", account.pk),
            url(ApiCall, "changelist"),
            url(get_user_model(), "change", account.user.pk),
        ):
            response = client.get(page)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], page


class TestSecretsAreShownOnce:
    def test_no_page_shows_a_secret_or_its_hash_after_its_message(
        self, staff: Client, superuser: User
    ) -> None:
        customer = get_user_model().objects.create_user("customer", "customer@example.com")
        form = {
            "user": customer.pk,
            "name": "mobile app",
            "is_active": "on",
            "endpoints": ["detect"],
            "rate_limit": "5",
            "concurrency_limit": "2",
            "quota_limit": "2500",
        }
        created = staff.post(url(ApiAccount, "add"), form, follow=True)
        account = ApiAccount.objects.get()
        first = secrets_shown(created)[account.api_id]
        rotated = act(staff, "rotate_secret", [account], confirmed="yes")
        second = secrets_shown(rotated)[account.api_id]
        account.refresh_from_db()
        call(account)
        assert first != second and services.hash_secret(second) == account.secret_hash

        pages = [
            url(ApiAccount, "changelist"),
            url(ApiAccount, "change", account.pk),
            url(ApiAccount, "history", account.pk),
            url(get_user_model(), "change", customer.pk),  # the inline
            url(get_user_model(), "changelist"),
            url(ApiCall, "changelist"),
            reverse("admin:index"),  # recent actions
        ]
        for page in pages:
            response = staff.get(page)
            html = response.content.decode()
            assert response.status_code == 200, page
            assert secrets_shown(response) == {}, page
            for hidden in (first, second, account.secret_hash, services.hash_secret(first)):
                assert hidden not in html, page
        confirmation = act(staff, "rotate_secret", [account]).content.decode()
        assert second not in confirmation and account.secret_hash not in confirmation
        logged = " ".join(entry.change_message + entry.object_repr for entry in LogEntry.objects.all())
        assert first not in logged and second not in logged and account.secret_hash not in logged


class TestUserAdmin:
    def test_the_inline_lists_the_users_accounts_and_links_to_add_one(
        self, staff: Client, account: ApiAccount
    ) -> None:
        other = services.account_create(username="bob")[0]
        ApiAccount.objects.filter(pk=account.pk).update(quota_used=37)
        html = staff.get(url(get_user_model(), "change", account.user.pk)).content.decode()
        assert account.api_id in html and "alice&#x27;s app" in html
        assert ">37<" in html  # quota used, read-only
        assert 'name="api_accounts-0-quota_limit" value="100"' in html
        assert other.api_id not in html
        assert account.secret_hash not in html and "secret" not in html.lower()
        add_url = f"{url(ApiAccount, 'add')}?user={account.user.pk}"
        assert f'href="{add_url}"' in html
        assert 'name="api_accounts-__prefix__-name"' not in html  # no adding in the inline

    def test_the_add_link_preselects_the_user(self, staff: Client, account: ApiAccount) -> None:
        html = staff.get(f"{url(ApiAccount, 'add')}?user={account.user.pk}").content.decode()
        assert re.search(rf'<option value="{account.user.pk}" selected>alice</option>', html)

    def test_limits_are_edited_in_the_inline(self, staff: Client, account: ApiAccount) -> None:
        user = account.user
        joined = timezone.localtime(user.date_joined)
        form = {
            "username": user.username,
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": joined.strftime("%Y-%m-%d"),
            "date_joined_1": joined.strftime("%H:%M:%S"),
            "api_accounts-TOTAL_FORMS": "1",
            "api_accounts-INITIAL_FORMS": "1",
            "api_accounts-MIN_NUM_FORMS": "0",
            "api_accounts-MAX_NUM_FORMS": "1000",
            "api_accounts-0-id": str(account.pk),
            "api_accounts-0-user": str(user.pk),
            "api_accounts-0-name": "renamed",
            "api_accounts-0-expires_at_0": "2031-05-01",
            "api_accounts-0-expires_at_1": "12:00:00",
            "api_accounts-0-quota_limit": "5000",
            "api_accounts-0-rate_limit": "3",
            "api_accounts-0-concurrency_limit": "1",
        }
        old_hash = account.secret_hash
        response = staff.post(url(get_user_model(), "change", user.pk), form, follow=True)
        assert response.status_code == 200 and "was changed successfully" in " ".join(messages_of(response))
        account.refresh_from_db()
        assert (account.name, account.is_active, account.quota_limit) == ("renamed", False, 5000)
        assert (account.rate_limit, account.concurrency_limit) == (3, 1)
        assert account.expires_at is not None and account.expires_at.year == 2031
        assert account.secret_hash == old_hash

    def test_adding_a_user_shows_no_inline(self, staff: Client) -> None:
        html = staff.get(url(get_user_model(), "add")).content.decode()
        assert "api_accounts-TOTAL_FORMS" not in html

    def test_list_counts_accounts_and_search_finds_by_email(self, staff: Client) -> None:
        carol = get_user_model().objects.create_user("carol", "carol@example.org")
        for _ in range(3):
            services.account_create(username="carol")
        get_user_model().objects.create_user("dave", "dave@example.net")
        response = staff.get(f"{url(get_user_model(), 'changelist')}?q=example.org")
        users = list(response.context["cl"].result_list)
        assert users == [carol] and users[0].api_account_count == 3
        assert '<td class="field-api_account_count">3</td>' in response.content.decode()


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

    def test_usage_summary_counts_statuses_and_latency_of_the_last_30_days(
        self, staff: Client, account: ApiAccount
    ) -> None:
        recent = [
            (12.0, "OK", 0),
            (40.0, "IMAGE_ERROR_UNSUPPORTED_FORMAT", 0),
            (8.0, "OK", 3),
            (30.0, "OK", 20),
        ]
        recent += [(float(ms), "NO_FACE_DETECTED", 10) for ms in range(1, 8)]
        for latency, status, days in recent:
            call(account, status=status, age=timedelta(days=days), latency_ms=latency)
        call(account, age=timedelta(days=45), latency_ms=5000.0)  # outside the 30 days
        call(None, latency_ms=9000.0)  # another "account"
        call(services.account_create(username="bob")[0], latency_ms=7000.0)

        html = staff.get(url(ApiAccount, "change", account.pk)).content.decode()
        latencies = [latency for latency, _, _ in recent]
        assert "Calls today: 2 · last 7 days: 3 · last 30 days: 11" in html
        assert (
            f"Last 30 days: 3 OK, 8 errors · latency p50 {nearest_rank(latencies, 0.5):.1f} ms, "
            f"p95 {nearest_rank(latencies, 0.95):.1f} ms" in html
        )
        rows = re.findall(r"<tr><td>(\w+)</td><td>(\d+)</td></tr>", html)
        assert rows == [("NO_FACE_DETECTED", "7"), ("OK", "3"), ("IMAGE_ERROR_UNSUPPORTED_FORMAT", "1")]
        assert f"{url(ApiCall, 'changelist')}?api_id={account.api_id}" in html
        assert f"{url(StoredImage, 'changelist')}?api_id={account.api_id}" in html

    def test_usage_summary_of_an_account_without_calls(self, staff: Client, account: ApiAccount) -> None:
        html = staff.get(url(ApiAccount, "change", account.pk)).content.decode()
        assert "Calls today: 0 · last 7 days: 0 · last 30 days: 0" in html
        assert "Last 30 days: 0 OK, 0 errors" in html and "p95" not in html

    def test_change_page_queries_do_not_grow_with_calls(
        self, staff: Client, account: ApiAccount, django_assert_max_num_queries: Callable[..., Any]
    ) -> None:
        many_calls([account], 10)
        with CaptureQueriesContext(connection) as few:
            staff.get(url(ApiAccount, "change", account.pk))
        many_calls([account], 500, start=10)
        with django_assert_max_num_queries(len(few)):
            html = staff.get(url(ApiAccount, "change", account.pk)).content.decode()
        assert "last 30 days: 510" in html

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

    def test_rotate_confirmation_keeps_only_the_selected_accounts(self, staff: Client) -> None:
        chosen, spared = (services.account_create(username=name)[0] for name in ("a", "b"))
        page = act(staff, "rotate_secret", [chosen]).content.decode()
        assert f'name="_selected_action" value="{chosen.pk}"' in page
        assert f'value="{spared.pk}"' not in page
        response = act(staff, "rotate_secret", [chosen], confirmed="yes")
        assert list(secrets_shown(response)) == [chosen.api_id]
        assert ApiAccount.objects.get(pk=spared.pk).secret_hash == spared.secret_hash

    def test_top_up_actions(self, staff: Client, account: ApiAccount) -> None:
        act(staff, "top_up_1000", [account])
        account.refresh_from_db()
        assert account.quota_limit == 1_100
        response = act(staff, "top_up_10000", [account])
        account.refresh_from_db()
        assert account.quota_limit == 11_100
        assert "Added 10,000 calls to the quota of 1 account." in messages_of(response)

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

    def test_extend_expiry_by_a_year(self, staff: Client) -> None:
        end = timezone.now() + timedelta(days=2)
        account = services.account_create(username="a", expires_at=end)[0]
        response = act(staff, "extend_expiry_365_days", [account])
        assert "Extended 1 account by 365 days." in messages_of(response)
        account.refresh_from_db()
        assert account.expires_at == end + timedelta(days=365)
        assert LogEntry.objects.filter(
            object_id=str(account.pk), change_message__startswith="Extended"
        ).exists()

    def test_deactivate_and_activate(self, staff: Client, account: ApiAccount) -> None:
        response = act(staff, "deactivate", [account])
        account.refresh_from_db()
        assert not account.is_active and "Deactivated 1 account." in messages_of(response)
        with pytest.raises(services.InvalidCredentials):
            services.authenticate(account.api_id, "whatever")
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
        assert not exists(mine.file.name)
        assert exists(theirs.file.name)

    def test_staff_without_change_permission_gets_no_actions(
        self, client: Client, account: ApiAccount
    ) -> None:
        viewer = get_user_model().objects.create_user("viewer", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_apiaccount"))
        client.force_login(viewer)
        response = client.get(url(ApiAccount, "changelist"))
        assert response.status_code == 200
        assert 'value="top_up_1000"' not in response.content.decode()
        act(client, "top_up_1000", [account])
        account.refresh_from_db()
        assert account.quota_limit == 100

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
        clerk.user_permissions.add(
            *Permission.objects.filter(codename__in=["view_apicall", "delete_apicall"])
        )
        client.force_login(clerk)
        record = call(account)
        request = client.get(url(ApiCall, "changelist")).wsgi_request
        assert not admin.site._registry[ApiCall].has_delete_permission(request, record)
        assert client.post(url(ApiCall, "delete", record.pk), {"post": "yes"}).status_code == 403
        assert ApiCall.objects.filter(pk=record.pk).exists()

    def test_detail_shows_parameters_and_body_pretty(self, staff: Client, account: ApiAccount) -> None:
        kept = image(account)
        params = {"api_id": account.api_id, "api_secret": "********", "image": {"file": "a.jpg", "bytes": 12}}
        body = {"request_id": "TID1", "status": "OK", "faces": [{"quality": 81.2}]}
        record = call(
            account,
            request_params=params,
            response_body=json.dumps(body, separators=(",", ":")),
            image_ids=[kept.pk, "0" * 32],
        )
        html = staff.get(url(ApiCall, "change", record.pk)).content.decode()
        assert "&quot;api_secret&quot;: &quot;********&quot;,\n  &quot;image&quot;: {\n" in html
        assert "{\n  &quot;request_id&quot;: &quot;TID1&quot;,\n  &quot;status&quot;: &quot;OK&quot;" in html
        assert f"<a href='{url(StoredImage, 'change', kept.pk)}'>{kept.pk}</a>" in html
        assert f"{'0' * 32} (purged)" in html
        assert 'name="request_params"' not in html and "<textarea" not in html

    def test_detail_shows_other_bodies_as_text_and_cuts_long_ones(
        self, staff: Client, account: ApiAccount
    ) -> None:
        described = call(account, response_body="[image/jpeg, 5120 bytes]")
        assert "[image/jpeg, 5120 bytes]" in staff.get(url(ApiCall, "change", described.pk)).content.decode()
        long = call(account, response_body="x" * 25_000)
        html = staff.get(url(ApiCall, "change", long.pk)).content.decode()
        assert "x" * 20_000 + "\n… 5,000 more characters" in html and "x" * 20_001 not in html

    def test_account_filter_lists_only_the_busiest_and_the_chosen_account(
        self, staff: Client, account: ApiAccount
    ) -> None:
        busy = [services.account_create(username=f"busy{n}", name=f"busy {n}")[0] for n in range(12)]
        for n, busy_account in enumerate(busy):
            for _ in range(n + 2):
                call(busy_account)
        call(account)  # the quietest: not offered unless chosen
        call(None)
        response = staff.get(url(ApiCall, "changelist"))
        choices = filter_choices(response, "account")
        offered = [c for c in choices if c not in ("All", "no account (refused before authentication)")]
        assert offered == [f"busy {n} ({busy[n].api_id[:8]}…)" for n in range(11, 1, -1)]
        assert "no account (refused before authentication)" in choices

        chosen = staff.get(f"{url(ApiCall, 'changelist')}?api_id={account.api_id}")
        assert f"alice's app ({account.api_id[:8]}…)" in filter_choices(chosen, "account")
        assert [c.account for c in chosen.context["cl"].result_list] == [account]
        refused = staff.get(f"{url(ApiCall, 'changelist')}?api_id=none")
        assert [c.account for c in refused.context["cl"].result_list] == [None]
        unknown = staff.get(f"{url(ApiCall, 'changelist')}?api_id=feedface")
        assert list(unknown.context["cl"].result_list) == []
        assert "feedface (unknown)" in filter_choices(unknown, "account")


class TestCallLogSummary:
    @pytest.fixture
    def calls(self, account: ApiAccount) -> dict[str, Any]:
        bob = services.account_create(username="bob", name="bob's site")[0]
        alice_ms = [10.0, 20.0, 30.0, 40.0, 500.0]
        for n, ms in enumerate(alice_ms):
            call(account, status="OK" if n < 4 else "NO_FACE_DETECTED", latency_ms=ms, endpoint="compare")
        call(bob, latency_ms=7.0)
        call(bob, latency_ms=9.0, status="INVALID_IMAGE")
        for ms in (1.0, 2.0, 3.0):
            call(None, status="AUTHENTICATION_ERROR", latency_ms=ms)
        call(bob, age=timedelta(days=40), latency_ms=1000.0)  # before the last 30 days
        return {"alice": account, "bob": bob, "alice_ms": alice_ms}

    def summary(
        self, staff: Client, query: str = ""
    ) -> tuple[str, list[tuple[Any, int, int, int, float | None]]]:
        response = staff.get(f"{url(ApiCall, 'changelist')}?{query}")
        assert response.status_code == 200
        summary = response.context["cl"].busiest_accounts
        rows = [(r.account, r.calls, r.ok, r.errors, r.p95_ms) for r in summary["rows"]]
        return response.content.decode(), rows

    def test_busiest_accounts_of_the_last_30_days(self, staff: Client, calls: dict[str, Any]) -> None:
        html, rows = self.summary(staff)
        assert rows == [
            (calls["alice"], 5, 4, 1, nearest_rank(calls["alice_ms"], 0.95)),
            (None, 3, 0, 3, 3.0),
            (calls["bob"], 2, 1, 1, 9.0),
        ]
        assert "Busiest accounts in the last 30 days</h2>" in html
        assert "no account (refused before authentication)" in html
        assert f"?api_id={calls['alice'].api_id}" in html and "500.0 ms" in html

    def test_follows_the_filters_and_the_dates(self, staff: Client, calls: dict[str, Any]) -> None:
        html, rows = self.summary(staff, "endpoint=compare")
        assert rows == [(calls["alice"], 5, 4, 1, 500.0)]
        assert "Busiest accounts in the last 30 days, with these filters" in html
        html, rows = self.summary(staff, "status=OK")
        assert [(account, count) for account, count, *_ in rows] == [(calls["alice"], 4), (calls["bob"], 1)]
        old = timezone.now() - timedelta(days=40)
        html, rows = self.summary(staff, f"created_at__year={old.year}&created_at__month={old.month}")
        # 40 days back is always another month: only the old call is in it.
        assert "in the chosen dates" in html
        assert rows == [(calls["bob"], 1, 1, 0, 1000.0)]

    def test_no_calls(self, staff: Client) -> None:
        html, rows = self.summary(staff)
        assert rows == [] and "No calls." in html

    def test_changelist_queries_do_not_grow_with_calls(
        self, staff: Client, django_assert_max_num_queries: Callable[..., Any]
    ) -> None:
        accounts: list[ApiAccount | None] = [
            services.account_create(username=f"user{n}")[0] for n in range(12)
        ]
        accounts.append(None)
        many_calls(accounts, 100)
        with CaptureQueriesContext(connection) as hundred:
            assert staff.get(url(ApiCall, "changelist")).status_code == 200
        many_calls(accounts, 900, start=100)
        with django_assert_max_num_queries(len(hundred)):
            response = staff.get(url(ApiCall, "changelist"))
        rows = response.context["cl"].busiest_accounts["rows"]
        per_account = Counter(n % len(accounts) for n in range(1_000))
        assert [row.calls for row in rows] == sorted(per_account.values(), reverse=True)[:10]
        assert len(response.context["cl"].result_list) == 100


class TestLatencyPercentile:
    def test_nearest_rank(self, account: ApiAccount) -> None:
        for ms in (5.0, 1.0, 4.0, 2.0, 3.0):
            call(account, latency_ms=ms)
        calls = ApiCall.objects.all()
        assert latency_percentile(calls, 0.5, 5) == 3.0
        assert latency_percentile(calls, 0.95, 5) == 5.0
        assert latency_percentile(calls, 0.2, 5) == 1.0
        assert latency_percentile(calls.none(), 0.95, 0) is None


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
