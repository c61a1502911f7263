"""gunicorn's logger with secrets masked (faceportal/gunicorn.conf.py names it `logger_class`).

Every atom of the access log that can carry a query string (`%(r)s`, `%(q)s`, `%(f)s`, the
`{raw_uri}e` and `{query_string}e` environ atoms, ...) is masked, and so are secret-looking
headers (`{x-df-api-secret}i`, `{authorization}i`, `{cookie}i`), so no access log format an
operator picks can print a secret. gunicorn's own error log names request lines too ("Invalid
request from ip=...: Invalid HTTP request line: '...'", "Error handling request /path?query"):
its records go through the same mask.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from faceportal.redact import MASK, RedactFilter, is_secret, redact


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)  # called again on every reload: one filter per logger, not one per call
        for log in (self.error_log, self.access_log):
            if not any(isinstance(existing, RedactFilter) for existing in log.filters):
                log.addFilter(RedactFilter())

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if not isinstance(value, str):
                continue
            # Header and environ atoms are `{name}i`, `{name}o`, `{name}e`.
            if name.startswith("{") and is_secret(name[1:-2]):
                atoms[name] = MASK
            else:
                atoms[name] = redact(value)
        return atoms
