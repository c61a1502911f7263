"""The pages a newcomer opens first render and link where they say."""

from __future__ import annotations

from django.test import Client


def test_the_home_page_links_the_capture_page_and_the_admin(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b'href="/liveness/capture/"' in response.content and b'href="/admin/"' in response.content


def test_the_capture_page_renders_without_inline_scripts(client: Client) -> None:
    page = client.get("/liveness/capture/").content.decode()
    assert '<script type="module" src="/static/capture/capture-page.js">' in page
    assert "<script>" not in page and "<style>" not in page
