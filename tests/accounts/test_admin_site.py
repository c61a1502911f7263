"""The operators' admin as a whole: every page renders, only staff get in, and secrets are
shown once and nowhere after.

The pages are served from this module's own URLconf (admin only), so that these tests do
not depend on the API views; the fixtures are in conftest.py, the helpers in helpers.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.test import Client
from django.urls import path, reverse
from django.utils import timezone

from accounts import services
from accounts.models import ApiAccount, ApiCall
from facesets import services as faceset_services
from facesets.models import EnrolledFace, FaceSet
from resources.models import StoredImage
from resources.services import image_store
from tests.accounts.helpers import (
    act,
    call,
    image,
    liveness_objects,
    secrets_shown,
    url,
)

urlpatterns = [path("admin/", admin.site.urls)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__), pytest.mark.usefixtures("isolated")]


def face_set_objects(account: ApiAccount) -> dict[type[Model], Model]:
    face_set = faceset_services.faceset_create(
        account=account, name="staff", desc="", model="sface-2021dec-float32"
    )
    template = np.full(128, 128**-0.5, np.float32)
    new = faceset_services.NewFace(
        template=template, model=face_set.template_model, person_id=None, photo=None, box=[]
    )
    return {FaceSet: face_set, EnrolledFace: faceset_services.face_add(face_set=face_set, face=new)}


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
            **face_set_objects(account),
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
