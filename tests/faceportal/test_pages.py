"""The pages a newcomer opens first render and link where they say."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.template import TemplateDoesNotExist
from django.test import Client

from faceportal import errors
from tests.faceportal import broken_urls


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


# -- error pages (faceportal/errors.py) -------------------------------------------------------


BROKEN = "tests.faceportal.broken_urls"


def assert_branded(response: Any, status: int, heading: str) -> str:
    """The portal's own page: its layout (header, one main landmark), the heading, a way back."""
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert '<header class="topbar">' in page and page.count("<main") == 1
    assert f'<h1 id="error-heading">{heading}</h1>' in page and f"Error {status}" in page
    assert '<nav aria-label="Ways back">' in page and 'href="/docs/"' in page
    assert '<link rel="icon" href="/static/favicon.svg"' in page
    return page


def test_an_unknown_address_answers_the_branded_404_with_a_way_home(client: Client) -> None:
    page = assert_branded(client.get("/no/such/<page>/"), 404, "Page not found")
    assert 'href="/"' in page and 'href="/portal/login/"' in page
    assert "such" not in page  # not echoed: an address may hold someone else's id
    assert "tried" not in page and "URLconf" not in page  # not Django's debug text


@pytest.mark.django_db
def test_an_unknown_call_id_keeps_the_signed_in_navigation(client: Client) -> None:
    client.force_login(get_user_model().objects.create_user("erin", password="x"))
    page = assert_branded(client.get("/portal/calls/no-such-call/"), 404, "Page not found")
    assert '<nav aria-label="Portal">' in page and 'href="/portal/">Back to your dashboard' in page
    assert "matches the given query" not in page  # Django's sentence names the model


@pytest.mark.django_db
def test_sign_up_when_closed_says_so_on_the_branded_404(client: Client, settings: Any) -> None:
    settings.FACEPORTAL_SIGNUP = False
    page = assert_branded(client.get("/portal/signup/"), 404, "Page not found")
    assert "Sign-up is closed: ask the operator for an account." in page


@pytest.mark.urls(BROKEN)
@pytest.mark.django_db
def test_a_refusal_answers_the_branded_403_with_its_reason(client: Client) -> None:
    page = assert_branded(client.get("/broken/403/"), 403, "Not allowed")
    assert broken_urls.FORBIDDEN_REASON in page


@pytest.mark.urls(BROKEN)
def test_a_bad_request_answers_the_branded_400(client: Client) -> None:
    page = assert_branded(client.get("/broken/400/"), 400, "Bad request")
    assert "a malformed form" not in page  # the exception's text is for the log


@pytest.mark.urls(BROKEN)
def test_a_failing_view_answers_the_branded_500_without_the_database(settings: Any) -> None:
    """Not marked django_db: the page would fail the test if it touched the database."""
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    page = assert_branded(client.get("/broken/500/"), 500, "Server error")
    assert broken_urls.BUG not in page and "Traceback" not in page


@pytest.mark.urls(BROKEN)
def test_the_500_page_falls_back_to_plain_text_when_its_template_fails(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(name: str) -> Any:
        raise TemplateDoesNotExist(name)

    monkeypatch.setattr(errors.loader, "get_template", broken)
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/broken/500/")
    assert response.status_code == 500 and response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == errors.PLAIN_500


@pytest.mark.parametrize("path", ["/identity/no_such_api", "/faceid/v1/nothing"])
def test_the_api_prefixes_still_answer_json_not_the_branded_page(client: Client, path: str) -> None:
    response = client.post(path)
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert b"<html" not in response.content


def test_favicon_ico_leads_to_the_hand_drawn_svg(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.svg"
    svg = ElementTree.fromstring((settings.BASE_DIR / "static" / "favicon.svg").read_bytes())
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.get("viewBox") == "0 0 32 32"


@pytest.mark.django_db
def test_flash_messages_sit_in_a_live_region_around_a_plain_list(client: Client) -> None:
    client.force_login(get_user_model().objects.create_user("fay", password="x"))
    response = client.post("/portal/keys/new/", {"name": "Shop"}, follow=True)
    page = response.content.decode()
    assert '<div role="status">\n      <ul class="messages">' in page
    assert '<ul class="messages" role=' not in page


@pytest.mark.django_db
def test_a_form_posted_without_its_csrf_cookie_answers_the_branded_403() -> None:
    response = Client(enforce_csrf_checks=True).post("/portal/login/", {"username": "x"})
    page = assert_branded(response, 403, "This form has expired")
    assert "Reload the page, then send the form again." in page
