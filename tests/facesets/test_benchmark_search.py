"""benchmark_search on the database configured (SQLite here, PostgreSQL with pgvector in the
services pass), run as an operator runs it: its own process and throw-away database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ops.services import services_expected

pytestmark = pytest.mark.slow


def test_benchmark_search_times_each_path_and_ends_with_one_json_line() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "benchmark_search", "--faces", "300", "600", "--queries", "12",
         "--ef-search", "1000"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert report["blas_threads"] == "1" and report["templates"] == "isotropic"
    assert [row["faces"] for row in report["sizes"]] == [300, 600]
    for row in report["sizes"]:
        assert 0 < row["exact"]["p50_ms"] <= row["exact"]["p99_ms"]
        assert row["matrix_mb"] >= round(row["faces"] * 536 / 2**20, 1)  # 512 B of template, 3 ids
    assert sum("faces  exact" in line for line in lines) == 2
    if report["database"] == "postgresql" or services_expected():
        # ef_search 1000 on 600 faces visits them all: the index finds what exact finds
        assert all(row["hnsw_ef1000"]["recall_at_10"] == 1.0 for row in report["sizes"])
        assert all(row["hnsw_ef1000"]["mated_found"] == 1.0 for row in report["sizes"])
        assert all(row["hnsw_index"] > 0 for row in report["sizes"])
    else:
        assert report["database"] == "sqlite" and "hnsw_ef1000" not in report["sizes"][0]
