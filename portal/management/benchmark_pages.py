"""The pages benchmark_portal times: every portal page a signed-in user can open (read from the
portal's URLconf, so that a new page is timed without being listed here) and every changelist
and change page of the admin (read from the admin's registry), with the test client.

Each page is rendered once first (templates compiled, caches warm), then `repeat` times; the
first dashboard of a new session is timed apart (a fresh session each time), the very first
dashboard of the process once, and a few real sign-ins (the form posted, the password hashed:
by design the costliest request of all, and what a browser waits for before that dashboard).

Beside the wall-clock time, the CPU time of the thread (SQLite runs in it too): on a machine
shared with other work it moves far less than the wall clock, so two runs can be compared.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse
from django.utils import timezone

from accounts.models import ApiCall
from facesets.models import EnrolledFace
from portal import urls as portal_urls
from portal.management.benchmark_seed import Seeded
from resources.models import CallImage, StoredImage

# Pages that are no page of a signed-in user (or that would sign them out).
NOT_PAGES = {"login", "logout", "signup"}
# What the portal's routes take, and the value each is timed with.
ARGUMENTS = ("request_id", "image_id", "api_id", "set_id", "face_id")
# Routes whose page needs a query string to be one (the stored-image picker names its key).
QUERIES = {"try_stored_images": "api_id"}
# Real sign-ins timed: each hashes the password (Django's PBKDF2, about half a second of CPU).
SIGN_INS = 3
# The stored images list fetched with all its thumbnails this many times at most (each time a
# hundred requests).
LIST_ROUNDS = 5
THUMBNAIL_SRC = re.compile(r"<img class='thumb small' src='([^']+)'")
# Names the figures have had since the first version of the benchmark.
LABELS = {"call_list": "calls, page 1"}


@dataclass(frozen=True)
class Measured:
    name: str
    median_ms: float
    p95_ms: float
    cpu_median_ms: float
    queries: int
    http_status: int
    samples: int


def measure_all(seeded: Seeded, repeat: int, untimed: list[str]) -> Iterator[Measured]:
    """The cold dashboards first (a warm process would hide the first), then every page.
    The portal's routes that are no page (POST-only actions, unknown arguments) are named in
    `untimed`, so that none goes unmeasured unsaid."""
    yield from cold_dashboards(seeded, repeat)
    customer = Client(raise_request_exception=False)
    customer.force_login(seeded.user)
    for name, url in portal_pages(seeded, untimed):
        if timed(customer, url).http_status == 405:  # a form's POST-only action, no page
            untimed.append(name)
        else:
            yield measure(customer, name, url, repeat)
    operator = Client(raise_request_exception=False)
    operator.force_login(seeded.operator)
    for name, url in admin_pages(seeded):
        yield measure(operator, name, url, repeat)
    yield distinct_thumbnails(operator, seeded, repeat)
    yield list_with_thumbnails(operator, repeat)


def cold_dashboards(seeded: Seeded, repeat: int) -> Iterator[Measured]:
    url = reverse("portal:dashboard")
    runs = []
    for _ in range(repeat + 1):
        client = Client(raise_request_exception=False)
        client.force_login(seeded.user)
        runs.append(timed(client, url))
    yield summarised("dashboard, first in process", runs[:1])
    yield summarised("dashboard, after sign-in", runs[1:])
    credentials = {"username": seeded.user.get_username(), "password": seeded.password}
    login = reverse("portal:login")
    yield summarised(
        "sign-in (password checked)",
        [timed(Client(raise_request_exception=False), login, credentials) for _ in range(SIGN_INS)],
    )


def portal_pages(seeded: Seeded, untimed: list[str]) -> list[tuple[str, str]]:
    calls = ApiCall.objects.filter(account=seeded.account)
    sample = calls.exclude(image_ids=[]).order_by("-created_at").first() or calls.first()
    image = StoredImage.objects.filter(account=seeded.account).first()
    copy = CallImage.objects.filter(account=seeded.account).first()
    face = EnrolledFace.objects.filter(face_set__account=seeded.account).order_by("pk").first()
    values = {
        "request_id": copy.request_id if copy else sample.request_id if sample else "none",
        "image_id": image.id if image else "none",
        "api_id": seeded.account.api_id,
        "set_id": str(face.face_set_id) if face else "0",
        "face_id": str(face.pk) if face else "0",
    }
    # A call's retained copy has an id of its own, not a stored image's.
    per_route = {"call_image_thumbnail": {"image_id": copy.id if copy else "none"}}
    pages = []
    for pattern in portal_urls.urlpatterns:
        if not isinstance(pattern, URLPattern) or pattern.name in NOT_PAGES:
            continue
        names = list(pattern.pattern.converters)
        if any(name not in ARGUMENTS for name in names):
            untimed.append(label(str(pattern.name)))
            continue
        given = {**values, **per_route.get(str(pattern.name), {})}
        url = reverse(f"portal:{pattern.name}", kwargs={name: given[name] for name in names})
        if pattern.name in QUERIES:
            url += f"?{QUERIES[pattern.name]}={given[QUERIES[pattern.name]]}"
        pages.append((label(str(pattern.name)), url))
    call_list = reverse("portal:call_list")
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    deep = max(1, math.ceil(seeded.calls / 50))
    pages += [
        ("calls, filtered", f"{call_list}?status=error&endpoint=detect&date_from={since}"),
        ("calls, deep page", f"{call_list}?page={deep}"),
        ("image thumbnail, 640", f"{reverse('portal:image_thumbnail', args=[values['image_id']])}?size=640"),
    ]
    return pages


def label(route: str) -> str:
    """The figure's name for a portal route: "try detect" for try_detect."""
    return LABELS.get(route, route.replace("_", " "))


def admin_pages(seeded: Seeded) -> list[tuple[str, str]]:
    """The index, then each registered model's changelist and the change page of one row
    (for the call log, a call that used stored images; for images, the account's)."""
    pages = [("admin index", reverse("admin:index"))]
    samples: dict[type[Any], Any] = {
        ApiCall: ApiCall.objects.filter(account=seeded.account).exclude(image_ids=[]).first(),
        StoredImage: StoredImage.objects.filter(account=seeded.account).first(),
    }
    for model in sorted(admin.site._registry, key=lambda model: model._meta.label):
        opts = model._meta
        label = f"admin {opts.verbose_name_plural}"
        pages.append((label, reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")))
        row = samples.get(model) or model._default_manager.order_by("pk").first()
        if row is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
            pages.append((f"admin {opts.verbose_name}, change page", change))
    call_log = reverse("admin:accounts_apicall_changelist")
    image_list = reverse("admin:resources_storedimage_changelist")
    api_id = seeded.account.api_id
    image = samples[StoredImage]
    pages += [
        ("admin api calls, by account", f"{call_log}?api_id={api_id}"),
        ("admin api calls, last page", f"{call_log}?p={max(0, math.ceil(seeded.calls / 100) - 1)}"),
        ("admin stored images, by account", f"{image_list}?api_id={api_id}"),
    ]
    if image is not None:
        thumbnail = reverse("admin:resources_storedimage_thumbnail", args=[image.pk])
        pages.append(("admin image thumbnail, 160", f"{thumbnail}?size=160"))
    return pages


def distinct_thumbnails(client: Client, seeded: Seeded, repeat: int) -> Measured:
    """The stored images list's thumbnails as a browser fetches them: each image's once, the
    newest first (what the list shows), none of them fetched before."""
    images = StoredImage.objects.filter(account=seeded.account).order_by("-created_at")[:repeat]
    runs = [
        timed(client, f"{reverse('admin:resources_storedimage_thumbnail', args=[image.pk])}?size=160")
        for image in images
    ]
    return summarised("admin image thumbnails, each once", runs or [Run(0.0, 0.0, 0, 0)])


def list_with_thumbnails(client: Client, repeat: int) -> Measured:
    """The stored images list and every thumbnail it shows, fetched one after the other, as
    a browser with an empty cache would: the server time of the whole page as a user sees it."""
    url = reverse("admin:resources_storedimage_changelist")
    runs = []
    for _ in range(min(repeat, LIST_ROUNDS)):
        page = timed(client, url)
        html = client.get(url).content.decode()
        shown = [timed(client, src.replace("&amp;", "&")) for src in THUMBNAIL_SRC.findall(html)]
        runs.append(
            Run(
                page.wall_ms + sum(run.wall_ms for run in shown),
                page.cpu_ms + sum(run.cpu_ms for run in shown),
                page.queries + sum(run.queries for run in shown),
                max([page.http_status, *(run.http_status for run in shown)]),
            )
        )
    return summarised(f"admin stored images + {len(shown)} thumbnails", runs)


def measure(client: Client, name: str, url: str, repeat: int) -> Measured:
    timed(client, url)  # the first render compiles templates and warms caches
    return summarised(name, [timed(client, url) for _ in range(repeat)])


@dataclass(frozen=True)
class Run:
    wall_ms: float
    cpu_ms: float
    queries: int
    http_status: int


def timed(client: Client, url: str, form: dict[str, str] | None = None) -> Run:
    """One GET (or the form POSTed), the response's content read."""
    with CaptureQueriesContext(connection) as queries:
        started, cpu = time.perf_counter(), time.thread_time()
        response = client.get(url) if form is None else client.post(url, form)
        if response.streaming:  # a thumbnail may come as a stream: read it as a browser would
            b"".join(getattr(response, "streaming_content", []))
        elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
    return Run(elapsed * 1000, cpu * 1000, len(queries), response.status_code)


def summarised(name: str, runs: list[Run]) -> Measured:
    """Median and p95 (nearest rank) of the runs; the queries and status of the last one."""
    ordered = sorted(run.wall_ms for run in runs)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    cpu = statistics.median(run.cpu_ms for run in runs)
    last = runs[-1]
    return Measured(name, statistics.median(ordered), p95, cpu, last.queries, last.http_status, len(runs))


def as_json(measured: list[Measured]) -> dict[str, dict[str, Any]]:
    return {m.name: {k: v for k, v in asdict(m).items() if k != "name"} for m in measured}
