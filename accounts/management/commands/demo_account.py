from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts import services


class Command(BaseCommand):
    help = (
        "Print the demo account's credentials, creating the account the first time. They are "
        "kept in DATA_DIR/demo-account.json (readable by the owner only) so that every start "
        "prints the same working key; delete that file to get a new one."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.DATA_DIR) / "demo-account.json"
        credentials = _saved(path)
        if credentials is None:
            account, secret = services.account_create(
                username="demo", name="demo account", quota=10_000, rate=20, concurrency=4
            )
            credentials = {"api_id": account.api_id, "api_secret": secret}
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(credentials, handle)
        self.stdout.write(json.dumps(credentials))


def _saved(path: Path) -> dict[str, str] | None:
    """The saved credentials if they still open an account (the database may be new)."""
    try:
        credentials = json.loads(path.read_text())
        services.authenticate(credentials["api_id"], credentials["api_secret"])
    except (OSError, ValueError, KeyError, TypeError, services.AccountError):
        return None
    return {"api_id": credentials["api_id"], "api_secret": credentials["api_secret"]}
