"""The key lifecycle and the portal's forms in headless Chromium: a try-it page never calls with
a secret from before a rotation, the key picker starts on a key whose secret the tab has,
rename / rotate with a grace period / revoke / delete with their confirmations, the Copy
buttons, and refused forms that show their errors in view and survive a reload (390x844 and
1366x900)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accounts.models import ApiAccount
from accounts.services import account_create, account_rotate_secret, hash_secret
from tests.browser.conftest import Browsing, make_user
from tests.browser.helpers import no_page_errors, wait_for_answer

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]


def kept(page: Any, api_id: str) -> list[str | None]:
    """What the tab keeps for the key: [secret, its version]."""
    return list(
        page.evaluate(
            "id => [sessionStorage.getItem('faceportal.secret.' + id),"
            " sessionStorage.getItem('faceportal.secret_version.' + id)]",
            api_id,
        )
    )


def create_key(browsing: Browsing, name: str) -> tuple[ApiAccount, str]:
    page = browsing.page
    page.locator("#id_name").fill(name)
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(f"{browsing.base_url}/portal/")
    secret = page.locator("#new-secret").inner_text()
    return ApiAccount.objects.get(name=name), secret


def card(page: Any, account: ApiAccount) -> Any:
    return page.locator(f'article.key-card[data-api-id="{account.api_id}"]')


def call_detect_with_a_file(page: Any, folder: Path) -> str:
    """Calls detect with a file that is no image: the API checks the key first, so the answer is
    AUTHORIZATION_ERROR for a secret it does not take and an image error for one it does (and
    the face models never run)."""
    path = folder / "not-an-image.jpg"
    path.write_bytes(b"not an image at all")
    page.locator("#detect-file").set_input_files(str(path))
    page.get_by_role("button", name="Detect faces").click()
    wait_for_answer(page)
    return str(page.locator("#try-error").inner_text())


@pytest.mark.django_db(transaction=True)
def test_a_rotated_key_is_never_called_with_its_old_secret(browsing: Browsing, tmp_path: Path) -> None:
    make_user("rui")
    page = browsing.page
    browsing.sign_in("rui")
    older, older_secret = create_key(browsing, "older")
    page.get_by_role("button", name="Use this key on the try-it pages").click()
    assert kept(page, older.api_id) == [older_secret, "1"]
    newest, _ = create_key(browsing, "newest")  # its secret not kept in the tab

    # The picker starts on the key whose secret the tab has, not on the newest.
    browsing.go("/portal/try/detect/")
    page.wait_for_selector("#try-submit:not([disabled])")
    assert page.locator("#try-api-id").input_value() == older.api_id
    assert page.locator("#try-secret").input_value() == older_secret
    page.locator("#try-api-id").select_option(newest.api_id)
    missing = page.locator("#try-secret-missing")
    assert missing.is_visible() and "does not have the secret of “newest”" in missing.inner_text()
    assert page.locator("#try-secret").input_value() == ""
    page.locator("#try-api-id").select_option(older.api_id)

    # Rotated on the dashboard: the tab, which kept the old secret, moves to the new one.
    browsing.go("/portal/")
    card(page, older).get_by_text("Rotate secret").click()
    card(page, older).get_by_role("button", name="Yes, rotate the secret").click()
    page.wait_for_url(f"{browsing.base_url}/portal/")
    rotated = page.locator("#new-secret").inner_text()
    assert "the try-it pages now use the new one" in page.locator("#use-key-status").inner_text()
    assert kept(page, older.api_id) == [rotated, "2"]
    browsing.go("/portal/try/detect/")
    page.wait_for_selector("#try-submit:not([disabled])")
    assert page.locator("#try-secret").input_value() == rotated
    assert "AUTHORIZATION_ERROR" not in call_detect_with_a_file(page, tmp_path)
    assert "IMAGE_ERROR" in page.locator("#try-error").inner_text()

    # Rotated elsewhere (another tab, the operator): the page drops what it kept and asks.
    account_rotate_secret(ApiAccount.objects.get(pk=older.pk))
    page.reload()
    page.wait_for_selector("#try-submit:not([disabled])")
    assert kept(page, older.api_id) == [None, None]
    assert page.locator("#try-secret").input_value() == ""
    assert "was rotated" in page.locator("#try-secret-missing").inner_text()
    browsing.shot("keys-tryit-secret-rotated")
    no_page_errors(browsing)


@pytest.mark.django_db(transaction=True)
def test_a_secret_the_api_refuses_is_not_kept(browsing: Browsing, tmp_path: Path) -> None:
    make_user("sam")
    account, secret = account_create(username="sam", name="server")
    page = browsing.page
    browsing.sign_in("sam")
    browsing.go("/portal/try/detect/")
    page.wait_for_selector("#try-submit:not([disabled])")
    assert "does not have the secret of “server”" in page.locator("#try-secret-missing").inner_text()

    page.locator("#try-secret").fill(secret + "typo")
    assert "AUTHORIZATION_ERROR" in call_detect_with_a_file(page, tmp_path)

    assert kept(page, account.api_id) == [None, None]
    assert "The API refused the secret of “server”" in page.locator("#try-secret-missing").inner_text()
    page.locator("#try-secret").fill(secret)
    assert "AUTHORIZATION_ERROR" not in call_detect_with_a_file(page, tmp_path)
    assert kept(page, account.api_id) == [secret, "1"]


@pytest.mark.django_db(transaction=True)
def test_rename_copy_rotate_with_grace_revoke_and_delete(browsing: Browsing) -> None:
    make_user("tess")
    page = browsing.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=browsing.base_url)
    page.set_viewport_size(DESKTOP)
    browsing.sign_in("tess")
    account, secret = create_key(browsing, "first name")

    status = page.locator("#copy-status")
    page.get_by_role("button", name="Copy the api_secret").click()
    status.filter(has_text="The api_secret is copied.").wait_for()  # the clipboard answers later
    assert page.evaluate("navigator.clipboard.readText()") == secret
    page.get_by_role("button", name="Copy the api_id").click()
    status.filter(has_text="The api_id is copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == account.api_id
    browsing.shot("keys-secret-panel-copy")

    own = card(page, account)
    own.get_by_text("Rename", exact=True).click()
    own.get_by_label("New name").fill("checkout")
    own.get_by_role("button", name="Save the name").click()
    page.wait_for_url(f"{browsing.base_url}/portal/")
    assert page.get_by_role("heading", name="checkout").is_visible()

    own.get_by_text("Rotate secret").click()
    own.get_by_label("The current secret").select_option(label="Keeps working for 24 hours")
    own.get_by_role("button", name="Yes, rotate the secret").click()
    page.wait_for_url(f"{browsing.base_url}/portal/")
    account.refresh_from_db()
    assert account.previous_secret_hash == hash_secret(secret)
    assert own.get_by_text("The previous secret still works until").is_visible()
    browsing.shot("keys-rotated-with-grace")

    own.get_by_text("Revoke", exact=True).click()
    own.get_by_role("button", name="Yes, revoke “checkout”").click()
    page.wait_for_url(f"{browsing.base_url}/portal/")
    assert own.get_by_text("Revoked — calls refused").is_visible()
    assert own.get_by_text("Rotate secret").count() == 0
    browsing.shot("keys-revoked")

    own.get_by_text("Delete", exact=True).click()
    own.get_by_role("button", name="Yes, delete “checkout”").click()
    page.wait_for_url(f"{browsing.base_url}/portal/")
    assert not ApiAccount.objects.exists()
    assert page.get_by_role("heading", name="No API keys yet").is_visible()
    no_page_errors(browsing)


def in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", SIZES)
def test_refused_forms_show_their_errors_in_view_and_survive_a_reload(
    browsing: Browsing, size: dict[str, int]
) -> None:
    make_user("uma")
    page = browsing.page
    page.set_viewport_size(size)
    name = "phone" if size is PHONE else "desktop"

    browsing.go("/portal/login/")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#id_username[aria-invalid='true']")
    assert page.locator("#id_username_error").inner_text() == "Enter your username."
    assert page.locator("#id_password_error").inner_text() == "Enter your password."
    assert page.get_by_role("alert").filter(has_text="Correct these 2 fields").is_visible()
    assert in_view(page, "#id_username_error") and in_view(page, "#id_errors")
    fits(page)
    browsing.shot(f"signin-empty-{name}")

    # A key of hers already: the new-key form is below its card, out of view on a phone.
    account_create(username="uma", name="existing")
    browsing.sign_in("uma")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.locator("#id_name").fill("   ")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(f"{browsing.base_url}/portal/#new-key-title")
    assert page.locator("#id_name_error").inner_text() == "Give the key a name."
    assert page.locator("#id_name").get_attribute("aria-invalid") == "true"
    assert in_view(page, "#id_name_error") and in_view(page, "#id_name")
    fits(page)
    browsing.shot(f"key-name-empty-{name}")

    page.reload()
    assert page.locator("#id_name_error").count() == 0
    assert posts == [f"{browsing.base_url}/portal/keys/new/"]  # the reload sent nothing
    assert list(ApiAccount.objects.values_list("name", flat=True)) == ["existing"]
    no_page_errors(browsing)
