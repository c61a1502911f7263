from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts import services

DEMO_USER = "demo"


class Command(BaseCommand):
    help = (
        "Print the demo account's credentials (API key and portal sign-in), creating them the "
        "first time. They are kept in DATA_DIR/demo-account.json (readable by the owner only) "
        "so that every start prints the same working key; delete that file to get new ones."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.DATA_DIR) / "demo-account.json"
        credentials = _saved(path)
        if credentials is None:
            account, secret = services.account_create(
                username=DEMO_USER, name="demo account", quota=10_000, rate=20, concurrency=4
            )
            password = secrets.token_urlsafe(12)
            account.user.set_password(password)
            account.user.save(update_fields=["password"])
            credentials = {
                "api_id": account.api_id,
                "api_secret": secret,
                "portal_username": DEMO_USER,
                "portal_password": password,
            }
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(credentials, handle)
        self.stdout.write(json.dumps(credentials))


def _saved(path: Path) -> dict[str, str | None] | None:
    """The saved credentials if the key still opens its account (the database may be new).
    A portal password its owner has changed since is not reset: it is printed as null."""
    try:
        credentials = json.loads(path.read_text())
        account = services.authenticate(credentials["api_id"], credentials["api_secret"])
        password = str(credentials["portal_password"])
    except (OSError, ValueError, KeyError, TypeError, services.AccountError):
        return None
    return {
        "api_id": account.api_id,
        "api_secret": credentials["api_secret"],
        "portal_username": account.user.get_username(),
        "portal_password": password if account.user.check_password(password) else None,
    }
