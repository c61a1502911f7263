"""Helpers of the try-it browser tests (tests/browser/test_portal_tryit_*.py): open a try
page with the key's secret, wait for and read its answer, find the call in the history, and
check the page fits a phone without errors. Their asserts are rewritten like the tests'
(tests/conftest.py registers this module)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from accounts.models import ApiCall
from tests.browser.conftest import TRY_USERNAME, Browsing, Key
from tests.conftest import encode, pixels

RESULT_TIMEOUT_MS = 60_000
PHONE = {"width": 390, "height": 844}


def write_photo(folder: Path, name: str, filename: str, fmt: str = "JPEG") -> Path:
    path = folder / filename
    path.write_bytes(encode(pixels(name), fmt, **({"quality": 92} if fmt == "JPEG" else {})))
    return path


def open_try_page(browsing: Browsing, key: Key, name: str) -> Any:
    """Signs in, keeps the key's secret in the tab's sessionStorage as the dashboard does, and
    opens the page, which must fill the secret in from there."""
    browsing.sign_in(TRY_USERNAME)
    browsing.page.evaluate(
        "([id, secret, version]) => { sessionStorage.setItem('faceportal.api_id', id);"
        " sessionStorage.setItem('faceportal.secret.' + id, secret);"
        " sessionStorage.setItem('faceportal.secret_version.' + id, version); }",
        [key.account.api_id, key.secret, str(key.account.secret_version)],
    )
    page = browsing.page

    def failed_resource(response: Any) -> None:
        # The page's own resources must all load; API refusals are answers; there is no favicon.
        api = any(prefix in response.url for prefix in ("/faceid/", "/identity/", "/faceset/"))
        if response.status >= 400 and not api and not response.url.endswith("/favicon.ico"):
            browsing.console.append(f"failed: {response.status} {response.url}")

    page.on("response", failed_resource)
    browsing.go(f"/portal/try/{name}/")
    page.wait_for_selector("#try-submit:not([disabled])")
    assert page.locator("#try-api-id").input_value() == key.account.api_id
    assert page.locator("#try-secret").input_value() == key.secret
    return page


def call_and_wait(page: Any, button: str) -> None:
    page.get_by_role("button", name=button).click()
    wait_for_answer(page)


def wait_for_answer(page: Any) -> None:
    page.wait_for_function(
        "() => !document.getElementById('try-facts').hidden"
        " && !document.getElementById('try-submit').disabled",
        timeout=RESULT_TIMEOUT_MS,
    )
    # The page then brings the result into view, smoothly: measure nothing while it scrolls.
    page.evaluate(
        """() => new Promise((resolve) => {
            let last = -1, still = 0;
            const check = () => {
                still = window.scrollY === last ? still + 1 : 0;
                last = window.scrollY;
                if (still >= 5) resolve(); else requestAnimationFrame(check);
            };
            requestAnimationFrame(check);
        })"""
    )


def answer(page: Any) -> dict[str, Any]:
    error = page.locator("#try-error")
    assert error.is_hidden(), error.text_content()
    return dict(json.loads(page.locator("#try-raw").text_content() or "{}"))


def history_row(request_id: str | None, seconds: float = 5.0) -> ApiCall:
    """The call's history row once it is complete: the server completes it after writing the
    answer (identity/api/history.py), so the browser can be a moment ahead of it."""
    deadline = time.monotonic() + seconds
    while True:
        call = ApiCall.objects.filter(request_id=request_id).first()
        if (call is not None and call.http_status) or time.monotonic() > deadline:
            assert call is not None, f"no history row for {request_id}"
            return call
        time.sleep(0.02)


def recorded_call(page: Any, key: Key, endpoint: str, status: str, http_status: int) -> ApiCall:
    """The call the page made is in the history, and the page links to it by its request id."""
    link = page.locator("#try-request-id a")
    request_id = link.text_content()
    call = history_row(request_id)
    assert (call.account_id, call.endpoint, call.status, call.http_status) == (
        key.account.pk,
        endpoint,
        status,
        http_status,
    )
    assert link.get_attribute("href") == f"/portal/calls/{request_id.replace(',', '%2C')}/"
    # The secret went to the API in the form, never into a URL.
    assert key.secret not in page.url and key.secret not in json.dumps(call.request_params)
    return call


def curl_text(page: Any, key: Key) -> str:
    text = str(page.locator("#try-curl").text_content())
    assert key.secret not in text and '"api_secret=$API_SECRET"' in text
    return text


def fits_a_phone(page: Any) -> None:
    """At 390 px nothing is wider than the screen (wide tables scroll inside their own box)."""
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def no_page_errors(browsing: Browsing) -> None:
    """No script error, no console error but the browser's own "Failed to load resource" (the
    favicon, an API refusal), and no failed resource (collected by open_try_page)."""
    errors = [
        line
        for line in browsing.console
        if line.startswith(("pageerror", "failed"))
        or (line.startswith("error") and "Failed to load resource" not in line)
    ]
    assert not errors, errors


DESKTOP = {"width": 1366, "height": 900}


def drop_file(page: Any, selector: str, url: str, name: str) -> None:
    """Drags a file (fetched from `url`, named `name`) onto the element, as a desktop's file
    manager would: dragenter, dragover and drop, with the file in the event's DataTransfer."""
    page.evaluate(
        """async ([selector, url, name]) => {
            const blob = await (await fetch(url)).blob();
            const transfer = new DataTransfer();
            transfer.items.add(new File([blob], name, { type: blob.type }));
            const zone = document.querySelector(selector);
            const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, init));
            }
        }""",
        [selector, url, name],
    )


def code_sample(page: Any, language: str) -> str:
    """The code panel's sample in one language, its tab picked first."""
    page.get_by_role("tab", name=language, exact=True).click()
    return str(page.get_by_role("tabpanel", name=language, exact=True).text_content())


def fits_the_width(page: Any) -> None:
    """No page wider than its viewport, whatever the viewport is now."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


# -- axe-core (tests/browser/test_accessibility.py) -------------------------------------------

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# What fails a page: what axe calls serious or critical (minor and moderate are printed only).
BLOCKING_IMPACTS = ("serious", "critical")


def axe_source() -> str:
    """axe-core as package.json pins it, installed into node_modules by scripts/install."""
    if not AXE_SCRIPT.is_file():
        raise AssertionError(
            f"{AXE_SCRIPT} is missing: run scripts/install (it runs `npm ci`, which installs"
            " axe-core as package-lock.json pins it)"
        )
    return AXE_SCRIPT.read_text(encoding="utf-8")


def axe_violations(page: Any, source: str) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now, with every rule it runs by default. It is
    evaluated through the browser's debugging protocol, so the page's own Content-Security-Policy
    does not stop it."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)
    result = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    return list(result["violations"])


def describe_violation(violation: dict[str, Any], nodes: int = 4) -> str:
    """One violation in a few lines: rule, impact, what it means and where, with axe's summary."""
    lines = [f"{violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"][:nodes]:
        summary = " ".join(str(node.get("failureSummary", "")).split())
        lines.append(f"    at {' '.join(map(str, node['target']))}: {summary[:300]}")
    if len(violation["nodes"]) > nodes:
        lines.append(f"    ... and {len(violation['nodes']) - nodes} more")
    return "\n".join(lines)


def page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))
