"""Browser fixtures: Debian's chromium driven by Playwright, a signed-in portal user, one
folder where every browser test saves its screenshots (printed at the end of the run, kept
for a person to look at: FACEPORTAL_SCREENSHOTS, or a fresh temporary folder), and the
try-it tests' user with an API key (`key`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from accounts.models import ApiAccount
from accounts.services import account_create

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "a long test passphrase 7"
TRY_USERNAME = "tryer"  # the try-it tests' user
_used_screenshot_dirs: list[Path] = []


def require_browser() -> None:
    problems = []
    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("Playwright for Python is missing (pip install -r requirements-dev.txt)")
    if problems:
        message = "browser test needs " + "; ".join(problems)
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    folder = os.environ.get("FACEPORTAL_SCREENSHOTS")
    path = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="faceportal-screenshots-"))
    path.mkdir(parents=True, exist_ok=True)
    _used_screenshot_dirs.append(path)
    return path


ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless chromium per test module; each test opens its own context.

    Playwright's sync API keeps an asyncio loop running in this thread while it is open, and
    Django refuses database queries under a running loop unless DJANGO_ALLOW_ASYNC_UNSAFE is
    set: the tests query the database between browser steps, so it is set while the browser is
    open and removed after, so that no later test or subprocess (check --deploy refuses it)
    inherits it."""
    require_browser()
    from playwright.sync_api import sync_playwright

    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@dataclass
class Browsing:
    """A page in its own browser context, with console errors collected and screenshots named."""

    page: Any
    console: list[str]
    shots: Path
    base_url: str

    def go(self, path: str) -> None:
        self.page.goto(f"{self.base_url}{path}")

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        self.go("/portal/login/")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(f"{self.base_url}/portal/")


@pytest.fixture
def browsing(chromium: Any, live_server: Any, screenshot_dir: Path) -> Iterator[Browsing]:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    try:
        yield Browsing(page=page, console=console, shots=screenshot_dir, base_url=live_server.url)
    finally:
        context.close()


def make_user(username: str, password: str = PASSWORD) -> Any:
    return get_user_model().objects.create_user(username=username, password=password)


@dataclass
class Key:
    account: ApiAccount
    secret: str


@pytest.fixture
def key(settings: Any, tmp_path: Path) -> Key:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    make_user(TRY_USERNAME)
    account, secret = account_create(
        username=TRY_USERNAME, name="try-it key", quota=100, rate=0, concurrency=10
    )
    return Key(account, secret)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for folder in _used_screenshot_dirs:
        terminalreporter.write_line(f"browser screenshots: {folder}")
