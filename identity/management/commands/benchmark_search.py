from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from faceengine.sface import MODEL_ID
from facelab.benchmark import resident_mb
from facesets import benchmark, pgvector
from facesets.services import faceset_create
from identity.management.commands._throwaway import throwaway_service


class Command(BaseCommand):
    help = (
        "Face-set search latency at N faces (synthetic templates, on a throw-away database): the "
        "exact path and, on PostgreSQL with pgvector, the HNSW index at each --ef-search, with "
        "p50/p99, HNSW's recall@10 against exact, memory, load and index build times; the last "
        "line is JSON. Run it with OPENBLAS_NUM_THREADS=1 for one thread, as gunicorn's workers run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--faces", type=int, nargs="+", default=[10_000, 100_000], help="set sizes, grown in turn"
        )
        parser.add_argument("--queries", type=int, default=200, help="searches timed per path and size (200)")
        parser.add_argument("--top", type=int, default=10)
        parser.add_argument(
            "--ef-search", type=int, nargs="+", default=[100, 200, 400], help="hnsw.ef_search values"
        )
        parser.add_argument(
            "--like", type=Path, help="an .npz of real embeddings (evaluate_search --embeddings)"
        )
        parser.add_argument("--m", type=int, default=pgvector.M, help=f"HNSW m ({pgvector.M}, the service's)")
        parser.add_argument(
            "--ef-construction",
            type=int,
            default=pgvector.EF_CONSTRUCTION,
            help=f"HNSW ef_construction ({pgvector.EF_CONSTRUCTION}, the service's)",
        )
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        out = self.stdout.write
        templates = benchmark.Templates(128, options["seed"], options["like"])
        report: dict[str, Any] = {
            "database": connection.vendor,
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default (one per core)"),
            "templates": "fitted to " + options["like"].name if options["like"] else "isotropic",
            "hnsw": {"m": options["m"], "ef_construction": options["ef_construction"]},
            "sizes": [],
        }
        out(f"{connection.vendor}; BLAS threads: {report['blas_threads']}; templates {report['templates']}")
        with throwaway_service() as service:
            face_set = faceset_create(account=service.account, name="benchmark", desc="", model=MODEL_ID)
            hnsw = pgvector.installed_version() is not None
            enrolled = 0
            for size in sorted(options["faces"]):
                if hnsw:
                    benchmark.drop_index()
                load_s = benchmark.fill(face_set, templates, size - enrolled, MODEL_ID)
                enrolled = size
                row: dict[str, Any] = {"faces": size, "load_s": round(load_s, 1)}
                if hnsw:
                    row["index_build_s"] = round(
                        benchmark.build_index(options["m"], options["ef_construction"]), 1
                    )
                    row.update({k: round(v, 1) for k, v in benchmark.sizes_mb().items()})
                if connection.vendor == "postgresql":  # now, not by autovacuum during the timing
                    with connection.cursor() as cursor:
                        cursor.execute(f"VACUUM ANALYZE {pgvector.TABLE}")
                queries = benchmark.queries_for(templates, face_set, options["queries"])
                before = resident_mb()
                exact = benchmark.run_exact(face_set, queries, options["top"])
                grown = resident_mb() - before  # with the set's matrix still held
                row["exact"] = self._line(size, exact.timed)
                row.update(
                    cold_read_s=round(exact.cold_read_s, 2),
                    matrix_mb=round(exact.matrix_mb, 1),
                    worker_grew_mb=round(grown),
                )
                out(
                    f"    worker: matrix {exact.matrix_mb:.0f} MiB, process grew {grown:.0f} MiB, "
                    f"first search read the set in {exact.cold_read_s:.2f} s; loaded in {load_s:.1f} s"
                )
                if hnsw:
                    out(
                        f"    HNSW index built in {row['index_build_s']} s, {row['hnsw_index']:.0f} MiB "
                        f"(table with indexes {row['table_with_indexes']:.0f} MiB)"
                    )
                    for ef_search in options["ef_search"]:
                        found = benchmark.run_hnsw(face_set, queries, options["top"], ef_search)
                        row[f"hnsw_ef{ef_search}"] = self._line(
                            size, found, exact.timed, benchmark.mated_count(options["queries"])
                        )
                report["sizes"].append(row)
        out(json.dumps(report))

    def _line(
        self, size: int, timed: benchmark.Timed, truth: benchmark.Timed | None = None, mated: int = 0
    ) -> dict[str, float]:
        figures = {"p50_ms": round(timed.percentile(50), 2), "p99_ms": round(timed.percentile(99), 2)}
        text = f"{size:>9} faces  {timed.path:<20} p50 {figures['p50_ms']:7.2f} ms"
        text += f"  p99 {figures['p99_ms']:7.2f} ms"
        if truth is not None:
            figures["recall_at_10"] = round(benchmark.recall(timed, truth), 4)
            figures["mated_found"] = round(benchmark.mated_found(timed, truth, mated), 4)
            text += f"  recall@10 {figures['recall_at_10']:.4f}  person found {figures['mated_found']:.4f}"
        self.stdout.write(text)
        return figures
