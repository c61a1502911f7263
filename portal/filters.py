"""The call history's filters: one GET form that validates every value before it touches a
query, so that a hand-edited URL gives a message on the page, never a 500 or someone else's
calls."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiAccount, ApiCall
from faceportal.endpoints import ENDPOINTS

# Endpoints by the URL name the API middleware records, in the registry's order.
ENDPOINT_NAMES = {endpoint.name: endpoint.label for endpoint in ENDPOINTS}
# What the middleware records for paths that are no endpoint (they never carry an account,
# so a user's list rarely has them, but the labels must not be blank if one ever does).
NON_ENDPOINT_NAMES = {
    "not_found": "Unknown path",
    "linkface:unknown": "Refused before routing (LinkFace)",
    "faceid:unknown": "Refused before routing (FaceID)",
}

# The status filter's two words that are not codes, in any case; everything else is matched
# exactly. "error" therefore also covers the middleware's own fallback code ERROR.
ANY_OK = "OK"
ANY_ERROR = "error"

# Codes are upper-case words joined by _ and sometimes qualified (BAD_ARGUMENTS:image).
_status_shape = RegexValidator(
    r"^[A-Za-z0-9_:.\- ]+$", "A status is OK, error, or a code such as NO_FACE_DETECTED."
)
# LinkFace ids are TID + hex, FaceID ids are <seconds>,<uuid>.
_request_id_shape = RegexValidator(
    r"^[A-Za-z0-9,\-]+$", "A request id has only letters, digits, commas and dashes."
)

# Sane bounds keep date arithmetic (the day after `to`) and the database away from year 1 and 9999.
EARLIEST = date(1970, 1, 1)
LATEST = date(2999, 12, 31)
_date_bounds = [
    MinValueValidator(EARLIEST, f"Pick a date from {EARLIEST:%Y-%m-%d} on."),
    MaxValueValidator(LATEST, f"Pick a date up to {LATEST:%Y-%m-%d}."),
]
KEPT_PARAMETERS = ("key", "endpoint", "status", "date_from", "date_to", "request_id", "page")


def endpoint_label(endpoint: str) -> str:
    return ENDPOINT_NAMES.get(endpoint) or NON_ENDPOINT_NAMES.get(endpoint) or endpoint


def endpoint_route(endpoint: str) -> str:
    """Method and path of an endpoint (every API endpoint is a POST), or a plain note."""
    if endpoint not in ENDPOINT_NAMES:
        return "not an endpoint of the API"
    return f"POST {reverse(endpoint)}"


def key_label(account: ApiAccount) -> str:
    return account.name or f"{account.api_id[:8]}…"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class CallFilterForm(forms.Form):
    key = forms.ChoiceField(
        label="API key",
        required=False,
        error_messages={"invalid_choice": "That is not one of your API keys."},
    )
    endpoint = forms.ChoiceField(
        label="Endpoint",
        required=False,
        choices=[("", "Any endpoint"), *ENDPOINT_NAMES.items(), *NON_ENDPOINT_NAMES.items()],
        error_messages={"invalid_choice": "Pick an endpoint from the list."},
    )
    status = forms.CharField(
        label="Status",
        required=False,
        max_length=64,
        validators=[_status_shape],
        help_text="OK, error (any error) or a code",
        widget=forms.TextInput(attrs={"list": "status-codes", "autocomplete": "off", "placeholder": "Any"}),
    )
    date_from = forms.DateField(label="From", required=False, widget=DateInput(), validators=_date_bounds)
    date_to = forms.DateField(label="To", required=False, widget=DateInput(), validators=_date_bounds)
    request_id = forms.CharField(
        label="Request id",
        required=False,
        max_length=64,
        validators=[_request_id_shape],
        help_text="The whole id or its beginning",
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false", "autocomplete": "off"}),
    )

    def __init__(self, data: Any, *, accounts: Iterable[ApiAccount]) -> None:
        # Only the user's own keys are valid choices: another user's api_id is a form error.
        super().__init__(data)
        accounts = list(accounts)
        self._account_pks = {account.api_id: account.pk for account in accounts}
        key_field = self.fields["key"]
        assert isinstance(key_field, forms.ChoiceField)
        key_field.choices = [("", "Any key"), *((a.api_id, key_label(a)) for a in accounts)]

    def clean_status(self) -> str:
        status: str = self.cleaned_data["status"].strip()
        if status.upper() == ANY_OK:
            return ANY_OK
        if status.lower() == ANY_ERROR:
            return ANY_ERROR
        return status

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def apply(self, calls: QuerySet[ApiCall]) -> QuerySet[ApiCall]:
        """The calls that pass every filter; call only on a valid form."""
        values = self.cleaned_data
        if values.get("key"):
            calls = calls.filter(account_id=self._account_pks[values["key"]])
        if values.get("endpoint"):
            calls = calls.filter(endpoint=values["endpoint"])
        status = values.get("status")
        if status == ANY_ERROR:
            calls = calls.exclude(status=ANY_OK)
        elif status:
            calls = calls.filter(status=status)
        if values.get("date_from"):
            calls = calls.filter(created_at__gte=_start_of(values["date_from"]))
        if values.get("date_to"):
            # Inclusive: everything before the start of the next day.
            calls = calls.filter(created_at__lt=_start_of(values["date_to"] + timedelta(days=1)))
        if values.get("request_id"):
            calls = calls.filter(request_id__startswith=values["request_id"])
        return calls

    def is_filtering(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.get(name) for name in self.fields)


def _start_of(day: date) -> datetime:
    """Midnight of `day` in the server's TIME_ZONE, the zone the pages show times in."""
    return timezone.make_aware(datetime.combine(day, time.min))


def statuses_seen(calls: QuerySet[ApiCall]) -> list[str]:
    """The distinct error codes among `calls`, for the status field's suggestions."""
    codes = calls.exclude(status=ANY_OK).order_by().values_list("status", flat=True).distinct()
    return sorted(codes)


def kept_query(params: Any) -> str:
    """The list's filters and page as a query string, for links that come back to it."""
    kept = params.copy()
    for name in list(kept):
        if name not in KEPT_PARAMETERS:
            del kept[name]
    return str(kept.urlencode())
