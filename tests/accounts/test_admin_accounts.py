"""The operators' admin of users and API accounts: the user page's inline, the account
form, its usage summary and the bulk actions (rotate, top up, extend, (de)activate, delete
images), at a fixed number of queries.

The pages are served from this module's own URLconf (admin only), so that these tests do
not depend on the API views; the fixtures are in conftest.py, the helpers in helpers.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils import timezone

from accounts import services
from accounts.models import FACESET_ENDPOINTS, ApiAccount, ApiCall, Endpoint, all_endpoints
from resources.models import StoredImage
from tests.accounts.helpers import (
    act,
    call,
    image,
    many_calls,
    messages_of,
    nearest_rank,
    secrets_shown,
    url,
)
from tests.storage import exists

urlpatterns = [path("admin/", admin.site.urls)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__), pytest.mark.usefixtures("isolated")]


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
        assert len(re.findall(r'type="checkbox" name="endpoints"[^>]* checked', html)) == len(Endpoint)

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

    def test_allow_face_sets_adds_them_to_accounts_made_before_and_keeps_the_rest(
        self, staff: Client, account: ApiAccount
    ) -> None:
        account.endpoints = ["compare", "detect"]  # as an account made before face sets
        account.save()
        complete = services.account_create(username="carol")[0]
        response = act(staff, "allow_face_sets", [account, complete])
        assert "Face sets allowed for 1 account more." in messages_of(response)
        account.refresh_from_db()
        assert account.endpoints == ["compare", "detect", *FACESET_ENDPOINTS]
        assert len(FACESET_ENDPOINTS) == 7
        complete.refresh_from_db()
        assert sorted(complete.endpoints) == sorted(all_endpoints())
        logged = LogEntry.objects.filter(change_message="Allowed the face-set endpoints.")
        assert [entry.object_id for entry in logged] == [str(account.pk)]  # not the unchanged one

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
