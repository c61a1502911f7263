"""Redis for one run (ops.services)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ops.services.base import Service, ServiceError, missing_message, stop_process, wait_until


class Redis(Service):
    name = "Redis"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / "redis.log"

    def start(self, timeout: float = 60) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        server = shutil.which("redis-server")
        if server is None:
            raise ServiceError(missing_message(["redis-server"]))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.root), "--daemonize", "no"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        wait_until(self._answers, timeout, "Redis", self.log)

    def _answers(self) -> bool:
        import redis

        if self.process is None or self.process.poll() is not None:
            raise ServiceError(f"Redis exited; see {self.log}")
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self, timeout: float = 30) -> None:
        stop_process(self.process, grace=timeout)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def env(self) -> dict[str, str]:
        return {"REDIS_URL": self.url}
