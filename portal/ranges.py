"""The dashboard charts' period and split: a GET form (a preset, or a custom from-to), validated
and bounded before it reaches a query, and the buckets each period is counted in.

24 hours are counted per hour (24 bars ending with the current hour); 7 and 30 days and a
custom range per local day (TIME_ZONE, DST included). A custom range is at most MAX_DAYS days
and ends today at the latest, so that a hand-edited URL can neither ask the database for
centuries nor draw thousands of bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from portal import usage
from portal.charts import MONTHS, day_label
from portal.filters import EARLIEST, DateInput

HOURS = "24h"
WEEK = "7d"
MONTH = "30d"
CUSTOM = "custom"
PRESETS = {HOURS: "Last 24 hours", WEEK: "Last 7 days", MONTH: "Last 30 days", CUSTOM: "Custom dates"}
DEFAULT = MONTH
MAX_DAYS = 92

BY_STATUS = "status"
BY_ENDPOINT = "endpoint"
SPLITS = {BY_STATUS: "Status", BY_ENDPOINT: "Endpoint"}


@dataclass(frozen=True)
class Period:
    """What the charts count over: `bounds` has one more entry than `labels` (each bucket's
    start, and the end of the last)."""

    label: str  # "last 30 days", "1 Mar 2026 to 14 Mar 2026"
    bounds: list[datetime]
    labels: list[str]
    unit: str  # "hour" or "day"
    every: int  # an x-axis label every this many buckets, counted back from the last

    @property
    def buckets(self) -> int:
        return len(self.labels)


class ChartRangeForm(forms.Form):
    range = forms.ChoiceField(
        label="Period",
        required=False,
        choices=list(PRESETS.items()),
        error_messages={"invalid_choice": "Pick a period from the list."},
    )
    date_from = forms.DateField(label="From", required=False, widget=DateInput())
    date_to = forms.DateField(label="To", required=False, widget=DateInput())
    split = forms.ChoiceField(
        label="Split by",
        required=False,
        choices=list(SPLITS.items()),
        error_messages={"invalid_choice": "Split by status or by endpoint."},
    )

    def __init__(self, data: Any, *, today: date) -> None:
        # A bound form shows what it was given: fill in the defaults, so that the page without
        # parameters shows "Last 30 days" picked (dates alone still mean a custom range).
        data = data.copy()
        if not data.get("range"):
            data["range"] = CUSTOM if (data.get("date_from") or data.get("date_to")) else DEFAULT
        if not data.get("split"):
            data["split"] = BY_STATUS
        super().__init__(data)
        self.today = today
        for name in ("date_from", "date_to"):
            self.fields[name].widget.attrs.update(min=EARLIEST.isoformat(), max=today.isoformat())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if cleaned.get("range") != CUSTOM:
            return cleaned
        if start is None and "date_from" not in self.errors:
            self.add_error("date_from", "Give the first day of the range.")
        if end is None and "date_to" not in self.errors:
            self.add_error("date_to", "Give the last day of the range.")
        if start is not None and start < EARLIEST:
            self.add_error("date_from", f"Pick a day from {EARLIEST:%Y-%m-%d} on.")
        if end is not None and end > self.today:
            self.add_error("date_to", f"Pick a day up to today, {self.today:%Y-%m-%d}.")
        if start is not None and end is not None and start > end:
            self.add_error("date_to", "The last day is before the first.")
        elif start is not None and end is not None and (end - start).days + 1 > MAX_DAYS:
            self.add_error("date_to", f"A range is at most {MAX_DAYS} days: pick a later first day.")
        return cleaned

    def choice(self) -> tuple[str, str]:
        """The period and the split asked for, the defaults when the form is not valid."""
        if not self.is_valid():
            # A bad period falls back to the default one; a good split is still honoured.
            split = self.cleaned_data.get("split") if "split" not in self.errors else None
            return DEFAULT, split or BY_STATUS
        return self.cleaned_data["range"], self.cleaned_data.get("split") or BY_STATUS

    def period(self, now: datetime) -> Period:
        preset, _ = self.choice()
        if preset == CUSTOM:
            return days_period(self.cleaned_data["date_from"], self.cleaned_data["date_to"])
        if preset == HOURS:
            return hours_period(now)
        days = usage.local_days(now, 7 if preset == WEEK else usage.DAYS)
        return days_period(days[0], days[-1], label=PRESETS[preset].lower())


def days_period(first: date, last: date, *, label: str = "") -> Period:
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    return Period(
        label=label or f"{_long_date(first)} to {_long_date(last)}",
        bounds=usage.day_starts(days),
        labels=[day_label(day) for day in days],
        unit="day",
        # Labels about 45 px wide, in a plot of about 375: at most eight of them.
        every=1 if len(days) <= 8 else 7 if len(days) <= 50 else 14,
    )


def hours_period(now: datetime) -> Period:
    """The 24 hours ending with the current one, counted on the clock (a DST day has no gap)."""
    # Floored on the local clock (a zone may be half an hour off UTC), stepped in UTC.
    hour = timezone.localtime(now).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    bounds = [hour - timedelta(hours=back) for back in range(23, -2, -1)]
    return Period(
        label=PRESETS[HOURS].lower(),
        bounds=bounds,
        labels=[f"{timezone.localtime(start):%H}:00" for start in bounds[:-1]],
        unit="hour",
        every=6,
    )


def _long_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
