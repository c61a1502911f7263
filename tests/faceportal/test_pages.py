"""The pages a newcomer opens first render and link where they say."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


def test_the_home_page_links_the_capture_page_the_docs_and_the_sign_in(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    for link in (b'href="/liveness/capture/"', b'href="/docs/"', b'href="/portal/login/"'):
        assert link in response.content
    assert b'href="/admin/"' not in response.content  # offered to staff only


@pytest.mark.django_db
def test_the_home_page_offers_the_admin_to_staff_only(client: Client) -> None:
    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client.force_login(user)
    assert b'href="/admin/"' in client.get("/").content
    user.is_staff = False
    user.save()
    assert b'href="/admin/"' not in client.get("/").content


def test_the_capture_page_renders_without_inline_scripts(client: Client) -> None:
    page = client.get("/liveness/capture/").content.decode()
    assert '<script type="module" src="/static/capture/capture-page.js">' in page
    assert "<script>" not in page and "<style>" not in page
