"""The served configuration: gunicorn with two workers, models loaded, metrics added up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from identity.engine.config import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("data")
    port = free_port()
    env = {**os.environ, "FACEPORTAL_DATA_DIR": str(data), "PORT": str(port), "WORKERS": "2"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run(
        [".venv/bin/python", "manage.py", "migrate", "-v", "0"], cwd=PROJECT_ROOT, env=env, check=True
    )
    process = subprocess.Popen(
        [".venv/bin/gunicorn", "faceportal.wsgi", "-c", "faceportal/gunicorn.conf.py"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.25)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert (Path(data) / "prometheus").is_dir()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_served_app_is_ready_with_its_models(server: str) -> None:
    status, body = get(f"{server}/readyz")
    assert status == 200 and '"models": "ok"' in body


def test_metrics_add_up_the_calls_of_every_worker(server: str) -> None:
    for _ in range(6):  # spread over both workers by the kernel
        assert post_empty(f"{server}/faceid/v1/detect") == 400
    status, body = get(f"{server}/metrics")
    line = next(
        line
        for line in body.splitlines()
        if line.startswith('faceportal_api_calls_total{endpoint="detect",status="MISSING_ARGUMENTS:api_key"}')
    )
    assert status == 200 and float(line.split()[-1]) == 6


def post_empty(url: str) -> int:
    request = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
