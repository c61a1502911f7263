"""axe-core and the page width on every page, in headless Chromium at a laptop's and a phone's
size: every page of the portal (read from its URL conf, so that a new page is checked without
being listed here), the home page, the API docs, the error pages and the admin's pages (every
registered model's list, read from the admin site, and the add, change and confirmation pages).
A page fails on any violation axe calls serious or critical, and on being wider than the
viewport (which makes a phone scroll sideways); every page's screenshot is kept to be looked
at. And the focus ring, wherever the keyboard goes, stands out by 3:1."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, reverse

from accounts.models import ApiAccount, ApiCall
from accounts.services import account_create
from facesets import services as faceset_services
from facesets.models import EnrolledFace
from portal import urls as portal_urls
from resources.models import CallImage, StoredImage
from resources.services import call_image_keep, image_store
from tests.browser.conftest import PASSWORD, Browsing
from tests.browser.helpers import (
    BLOCKING_IMPACTS,
    axe_source,
    axe_violations,
    describe_violation,
    page_width,
)
from tests.conftest import encode, pixels

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
# The portal's URLs that are no page to look at: posted forms and an image.
NOT_PAGES = {
    "logout",
    "key_create",
    "key_rotate",
    "key_rename",
    "key_revoke",
    "key_delete",
    "image_thumbnail",
    "call_image_thumbnail",
    "face_crop",
    "sample_photo",
    "sample_thumbnail",
    "try_stored_images",
    "try_liveness_sample",
}
# Opened signed out (signed in, they send the user to the dashboard).
SIGNED_OUT = {"login", "signup"}
OPERATOR = "operator"  # staff, with an API key of their own, some calls and a stored image
REQUEST_ID = "TID0123456789abcdef0123456789abcdef"


@dataclass
class Data:
    account: ApiAccount
    image: StoredImage
    call: ApiCall
    face: EnrolledFace
    copy: CallImage


@dataclass
class Findings:
    """What the pages got wrong, all of it, so that one run shows every page's problems."""

    source: str
    size: str
    problems: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def check(
        self, browsing: Browsing, label: str, path: str, status: int = 200, ready: str | None = None
    ) -> None:
        response = browsing.page.goto(f"{browsing.base_url}{path}")
        if response.status != status:  # a page that is not what it should be is no finding of axe's
            self.problems.append(f"{label} ({path}): answered {response.status}, not {status}")
        self.check_current(browsing, label, ready)

    def check_current(self, browsing: Browsing, label: str, ready: str | None = None) -> None:
        """The page as it is now (after a navigation, or a form posted)."""
        page = browsing.page
        page.wait_for_load_state("networkidle")
        if ready:
            page.wait_for_selector(ready)
        self.seen.append(label)
        browsing.shot(f"a11y-{self.size}-{label}")
        where = f"{label} ({page.url.removeprefix(browsing.base_url)})"
        width, viewport = page_width(page), SIZES[self.size]["width"]
        if width > viewport:
            self.problems.append(f"{where}: {width} px wide in a {viewport} px viewport")
        for violation in axe_violations(page, self.source):
            if violation["impact"] in BLOCKING_IMPACTS:
                self.problems.append(f"{where}: {describe_violation(violation)}")

    def assert_clean(self) -> None:
        if self.problems:  # the report alone: pytest's repr of this object would bury it
            report = "\n".join(self.problems)
            pytest.fail(f"at {self.size} size, on {len(self.seen)} pages:\n{report}", pytrace=False)


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


@pytest.fixture
def data(settings: Any, tmp_path: Path) -> Data:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FACEPORTAL_SIGNUP = True
    cache.clear()
    get_user_model().objects.create_superuser(OPERATOR, "operator@example.com", PASSWORD)
    account, _ = account_create(username=OPERATOR, name="production")
    photo = encode(pixels("grace_hopper"))
    image = image_store(account=account, data=photo, format="JPEG", width=600, height=600, source="file")
    call = ApiCall.objects.create(
        account=account,
        endpoint="detect",
        request_id=REQUEST_ID,
        status="OK",
        http_status=200,
        latency_ms=84.0,
        image_ids=[image.id],
        request_params={"return_landmark": "1"},
        response_body='{"status": "OK"}',
    )
    face_set = faceset_services.faceset_create(
        account=account, name="staff", desc="", model="sface-2021dec-float32"
    )
    new = faceset_services.NewFace(
        template=np.full(128, 128**-0.5, np.float32),
        model=face_set.template_model,
        person_id=7,
        photo=image,
        box=[150, 150, 300, 300],
    )
    face = faceset_services.face_add(face_set=face_set, face=new)
    copy = call_image_keep(
        account=account, request_id=REQUEST_ID, role="image", data=photo, format="JPEG", width=600, height=600
    )
    return Data(account, image, call, face, copy)


@pytest.fixture(params=list(SIZES))
def findings(request: pytest.FixtureRequest, browsing: Browsing, axe: str) -> Findings:
    browsing.page.set_viewport_size(SIZES[request.param])
    return Findings(source=axe, size=request.param)


def portal_pages(data: Data) -> dict[str, str]:
    """Every page of the portal's URL conf, its parameters filled from the test's data: a new
    parameter fails here until it is given a value."""
    samples = {
        "request_id": data.call.request_id,
        "api_id": data.account.api_id,
        "image_id": data.image.id,
        "set_id": data.face.face_set_id,
        "face_id": data.face.pk,
    }
    pages = {}
    for pattern in portal_urls.urlpatterns:
        assert isinstance(pattern, URLPattern) and pattern.name
        if pattern.name in NOT_PAGES:
            continue
        kwargs = {name: samples[name] for name in pattern.pattern.converters}
        pages[pattern.name] = reverse(f"portal:{pattern.name}", kwargs=kwargs)
    return pages


def sign_in(browsing: Browsing) -> None:
    browsing.sign_in(OPERATOR)


def test_axe_finds_what_it_should(browsing: Browsing, axe: str) -> None:
    """The check can fail: a page with an unlabelled field and an image without text."""
    browsing.page.set_content('<html lang="en"><main><img src="x.png"><input type="text"></main></html>')
    found = {violation["id"]: violation["impact"] for violation in axe_violations(browsing.page, axe)}
    assert found["image-alt"] == "critical" and found["label"] == "critical"


@pytest.mark.django_db(transaction=True)
def test_every_portal_page_passes_axe_and_fits(browsing: Browsing, findings: Findings, data: Data) -> None:
    pages = portal_pages(data)
    for name in SIGNED_OUT:
        findings.check(browsing, name, pages.pop(name))
    sign_in(browsing)
    for name, path in pages.items():
        findings.check(browsing, name, path)
    findings.check(browsing, "unknown-call-404", "/portal/calls/no-such-call/", 404)
    findings.assert_clean()


@pytest.mark.django_db
def test_what_the_check_leaves_out_is_no_page(client: Client, data: Data) -> None:
    """Each URL in NOT_PAGES answers a GET with no HTML page (a posted form refuses it, the
    thumbnail is an image), so that leaving it out hides nothing; a stale entry fails too."""
    names = {pattern.name for pattern in portal_urls.urlpatterns if isinstance(pattern, URLPattern)}
    assert names >= NOT_PAGES and names - NOT_PAGES >= SIGNED_OUT
    client.force_login(get_user_model().objects.get(username=OPERATOR))
    samples = {
        "api_id": data.account.api_id,
        "image_id": data.image.id,
        "request_id": REQUEST_ID,
        "face_id": data.face.pk,
        "filename": "grace_hopper.jpg",
    }
    for pattern in portal_urls.urlpatterns:
        if isinstance(pattern, URLPattern) and pattern.name in NOT_PAGES:
            given = (
                {**samples, "image_id": data.copy.id} if pattern.name == "call_image_thumbnail" else samples
            )
            kwargs = {name: given[name] for name in pattern.pattern.converters}
            query = f"?api_id={data.account.api_id}" if pattern.name == "try_stored_images" else ""
            response = client.get(reverse(f"portal:{pattern.name}", kwargs=kwargs) + query)
            kind = response.get("Content-Type", "")
            answer = kind.startswith("image/") or kind.startswith("application/json")
            assert response.status_code == 405 or (response.status_code == 200 and answer), pattern.name


@pytest.mark.urls("tests.faceportal.broken_urls")
@pytest.mark.django_db(transaction=True)
def test_the_public_pages_and_the_error_pages_pass_axe_and_fit(
    browsing: Browsing, findings: Findings, data: Data, settings: Any
) -> None:
    findings.check(browsing, "home", "/")
    findings.check(browsing, "docs", "/docs/", ready="#swagger-ui .opblock")
    # One operation opened, with its "Try it out" form (fields that Swagger UI draws unlabelled).
    browsing.page.locator(".opblock-summary-control").first.click()
    browsing.page.get_by_role("button", name="Try it out").first.click()
    findings.check_current(browsing, "docs-try-it-out", ready="#swagger-ui .btn.execute")
    findings.check(browsing, "error-404", "/no/such/page/", 404)
    findings.check(browsing, "error-400", "/broken/400/", 400)
    findings.check(browsing, "error-500", "/broken/500/", 500)
    settings.FACEPORTAL_SIGNUP = False
    findings.check(browsing, "signup-closed-404", "/portal/signup/", 404)
    sign_in(browsing)
    findings.check(browsing, "home-signed-in", "/")
    findings.check(browsing, "error-403", "/broken/403/", 403)
    findings.check(browsing, "error-404-signed-in", "/no/such/page/", 404)
    findings.assert_clean()


def admin_url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.django_db(transaction=True)
def test_the_admin_pages_pass_axe_and_fit(browsing: Browsing, findings: Findings, data: Data) -> None:
    """The index, every registered model's list (read from the admin site, so that a new one is
    checked), the add and change pages of the test's rows, and an action's confirmation."""
    sign_in(browsing)
    findings.check(browsing, "admin-index", reverse("admin:index"))
    for model in admin.site._registry:
        findings.check(browsing, f"admin-{model._meta.model_name}-list", admin_url(model, "changelist"))
    user = get_user_model().objects.get(username=OPERATOR)
    for row in (data.account, user, data.call, data.image):
        findings.check(
            browsing, f"admin-{row._meta.model_name}-change", admin_url(type(row), "change", row.pk)
        )
    for model in (ApiAccount, get_user_model()):
        findings.check(browsing, f"admin-{model._meta.model_name}-add", admin_url(model, "add"))

    # The confirmation of an irreversible action: one account ticked, the action chosen, Go.
    browsing.go(admin_url(ApiAccount, "changelist"))
    page = browsing.page
    page.locator("input[name=_selected_action]").first.check()
    page.locator("select[name=action]").select_option("rotate_secret")
    page.get_by_role("button", name="Go").click()
    page.wait_for_selector("text=No, take me back")
    findings.check_current(browsing, "admin-confirm-action")
    findings.assert_clean()


# -- the focus ring ---------------------------------------------------------------------------

# The focused element's ring, and the colour it is drawn on: the first opaque background among
# its ancestors (the ring is drawn outside the element, offset from it).
FOCUS_RING = """() => {
  const element = document.activeElement;
  // Not :focus itself: the focus is on a part the browser draws and rings (a date's calendar).
  if (!element || element === document.body || !element.matches(":focus")) return null;
  const style = getComputedStyle(element);
  let around = element.parentElement, background = "rgb(255, 255, 255)";
  for (; around; around = around.parentElement) {
    const colour = getComputedStyle(around).backgroundColor;
    if (!/rgba\\(.*, 0\\)$/.test(colour) && colour !== "transparent") { background = colour; break; }
  }
  const name = element.tagName.toLowerCase() + (element.id ? "#" + element.id : "");
  return {name: name + " " + (element.textContent || "").trim().slice(0, 30), style: style.outlineStyle,
          width: parseFloat(style.outlineWidth), colour: style.outlineColor, background};
}"""
TABS = 30  # keyboard steps through each page, from its top


def luminance(colour: str) -> float:
    channels = [int(part) / 255 for part in re.findall(r"\d+", colour)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, two: str) -> float:
    light, dark = sorted((luminance(one), luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_is_measured_as_wcag_does() -> None:
    assert round(contrast("rgb(255, 255, 255)", "rgb(0, 0, 0)"), 1) == 21.0
    assert round(contrast("rgb(156, 192, 245)", "rgb(255, 255, 255)"), 2) == 1.86  # the old ring


@pytest.mark.django_db(transaction=True)
def test_the_focus_ring_stands_out_by_3_to_1_wherever_the_keyboard_goes(
    browsing: Browsing, data: Data
) -> None:
    sign_in(browsing)
    weak = []
    seen = 0
    for path in ("/portal/", "/portal/calls/", "/portal/try/detect/", "/", "/admin/", "/liveness/capture/"):
        browsing.go(path)
        browsing.page.wait_for_load_state("networkidle")
        for _ in range(TABS):
            browsing.page.keyboard.press("Tab")
            ring = browsing.page.evaluate(FOCUS_RING)
            if ring is None:
                continue
            seen += 1
            ratio = contrast(ring["colour"], ring["background"])
            if ring["style"] == "none" or ring["width"] < 2 or ratio < 3:
                weak.append(
                    f"{path} {ring['name']}: {ring['style']} {ring['width']}px {ring['colour']}"
                    f" on {ring['background']} ({ratio:.2f}:1)"
                )
    assert seen > 50, f"only {seen} elements took the focus"
    assert not weak, "\n".join(weak)
