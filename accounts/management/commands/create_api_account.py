"""Creates an API account (and its user if needed); the secret is printed this one time.

The last line is a JSON object so that scripts can read the credentials with `tail -n 1`.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models
from django.utils import timezone

from accounts import services
from accounts.models import Endpoint

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_OPTION_OF_FIELD = {
    "name": "--name",
    "quota_limit": "--quota",
    "rate_limit": "--rate",
    "concurrency_limit": "--concurrency",
    "expires_at": "--expires",
    "endpoints": "--endpoints",
}


def parse_expiry(value: str) -> datetime:
    """`YYYY-MM-DD` is the end of that day in settings.TIME_ZONE; anything else must be a full
    ISO 8601 datetime with its offset, since a bare time would be ambiguous."""
    value = value.strip()
    if _DATE_ONLY.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as error:
            raise CommandError(f"--expires {value!r}: not a valid date ({error})") from None
        return timezone.make_aware(datetime.combine(day, time(23, 59, 59)), timezone.get_default_timezone())
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--expires {value!r}: expected YYYY-MM-DD or an ISO 8601 datetime with offset, "
            "e.g. 2030-01-31 or 2030-01-31T18:00:00+01:00"
        ) from None
    if timezone.is_naive(moment):
        raise CommandError(f"--expires {value!r}: a datetime needs its UTC offset, e.g. {value}+00:00")
    return moment


def parse_endpoints(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    known = {choice.value for choice in Endpoint}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise CommandError(
            f"--endpoints: unknown endpoint(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}"
        )
    if not names:
        raise CommandError("--endpoints: name at least one endpoint")
    return list(dict.fromkeys(names))


def check_non_negative(option: str, value: Any) -> int:
    # call_command(quota=...) bypasses argparse's type conversion, so check here too.
    if isinstance(value, bool) or not isinstance(value, int):
        raise CommandError(f"--{option}: expected a whole number, got {value!r}")
    if value < 0:
        raise CommandError(f"--{option}: must be 0 or more, got {value}")
    return value


class Command(BaseCommand):
    help = "Create an API account for a user (created if needed) and print its credentials once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username owning the account (created if missing)")
        parser.add_argument("--name", default="", help="a label for the account")
        parser.add_argument("--quota", type=int, default=1000, help="successful calls allowed in all")
        parser.add_argument("--rate", type=int, default=10, help="calls per second; 0 for no limit")
        parser.add_argument("--concurrency", type=int, default=4, help="simultaneous calls; 0 for no limit")
        parser.add_argument(
            "--expires",
            help="YYYY-MM-DD (end of that day, TIME_ZONE) or ISO 8601 datetime with offset; default never",
        )
        parser.add_argument(
            "--endpoints",
            help=f"comma-separated endpoints it may call, default all: {','.join(e.value for e in Endpoint)}",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = str(options["user"] or "").strip()
        if not username:
            raise CommandError("--user: give a username")
        user_model = get_user_model()
        username_field = user_model._meta.get_field(user_model.USERNAME_FIELD)
        if isinstance(username_field, models.Field):
            try:
                username_field.clean(username, None)
            except ValidationError as error:
                raise CommandError(f"--user {username!r}: {' '.join(error.messages)}") from None
        quota = check_non_negative("quota", options["quota"])
        rate = check_non_negative("rate", options["rate"])
        concurrency = check_non_negative("concurrency", options["concurrency"])
        expires_at = parse_expiry(options["expires"]) if options["expires"] is not None else None
        endpoints = parse_endpoints(options["endpoints"]) if options["endpoints"] is not None else None

        user_existed = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).exists()
        try:
            account, secret = services.account_create(
                username=username,
                name=options["name"],
                quota=quota,
                rate=rate,
                concurrency=concurrency,
                expires_at=expires_at,
                endpoints=endpoints,
            )
        except ValidationError as error:
            details = "; ".join(
                f"{_OPTION_OF_FIELD.get(field, field)}: {' '.join(messages)}"
                for field, messages in error.message_dict.items()
            )
            raise CommandError(f"invalid account: {details}") from None

        write = self.stdout.write
        write(f"{'Using existing' if user_existed else 'Created'} user {username}")
        write(f"Created API account {account.api_id}" + (f" ({account.name})" if account.name else ""))
        write(f"  quota:       {account.quota_limit:,} calls")
        write(f"  rate:        {account.rate_limit or 'unlimited'} calls/s")
        write(f"  concurrency: {account.concurrency_limit or 'unlimited'}")
        write(f"  endpoints:   {', '.join(account.endpoints)}")
        if account.expires_at is None:
            write("  expires:     never")
        else:
            write(f"  expires:     {timezone.localtime(account.expires_at).isoformat()}")
            if account.is_expired():
                write(self.style.WARNING("  this expiry is already past: the key is refused as expired"))
        write("The secret is shown only this once; store it now.")
        write(json.dumps({"api_id": account.api_id, "api_secret": secret}))
