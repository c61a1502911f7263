"""JSON log lines, one object per record, for log collectors.

Every field passed in `extra` (request_id, endpoint, status, ...) becomes a key, so an API
call can be found by its request id across all app servers. A field named like a secret
(`api_secret`, `password`, ...) is masked, whatever it holds.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from faceportal.redact import MASK, is_secret

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {
                key: MASK if is_secret(key) else value
                for key, value in record.__dict__.items()
                if key not in _STANDARD
            }
        )
        # RedactFilter (settings.LOGGING) leaves the traceback, masked, in exc_text.
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
