from __future__ import annotations

import json
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from faceengine.engine import FaceEngine
from faceengine.liveness import CUES, DECISION_THRESHOLD
from facelab import liveness_attacks, liveness_eval


class Command(BaseCommand):
    help = (
        "Score the synthetic attack presentations (package photos printed, moved, tilted, shown "
        "on a screen, swapped between people, with forged timestamps) and print APCER per attack "
        "class. There are no bona fide presentations: BPCER needs real captures. The last line "
        "printed is the report as one JSON object."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seeds", type=int, default=2, help="random seeds per class and print (default 2)"
        )
        parser.add_argument(
            "--classes",
            nargs="+",
            default=list(liveness_attacks.ATTACK_CLASSES),
            help="attack classes to run",
        )
        parser.add_argument("--prints", nargs="+", default=None, help="only these prints (e.g. astronaut)")
        parser.add_argument("--threads", type=int, default=1, help="engine threads (default 1: one core)")
        parser.add_argument(
            "--no-geometry", action="store_true", help="skip the turning-mesh geometry check (~10 s)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        unknown = set(options["classes"]) - set(liveness_attacks.ATTACK_CLASSES)
        if unknown or options["seeds"] < 1:
            raise CommandError(
                f"need --seeds >= 1 and classes among {', '.join(liveness_attacks.ATTACK_CLASSES)}"
            )
        engine = FaceEngine(threads=options["threads"])
        prints = [p.name for p in liveness_attacks.load_prints(engine)]
        chosen = [name for name in prints if options["prints"] is None or name in options["prints"]]
        if not chosen:
            raise CommandError(f"no such prints; available: {', '.join(prints)}")
        total = options["seeds"] * len(options["classes"]) * len(chosen)
        self.stdout.write(
            f"{total} attack presentations: {len(options['classes'])} classes x {options['seeds']} seeds x "
            f"{len(chosen)} prints ({', '.join(chosen)})"
        )
        with tqdm(total=total, desc="scoring", unit="capture", file=self.stderr._out) as bar:
            results = liveness_eval.evaluate(
                engine,
                options["seeds"],
                options["classes"],
                prints=options["prints"],
                on_scored=lambda _: bar.update(1),
            )
        reports = liveness_eval.summarise(results)
        self._table(reports)
        self._timing(results, options["threads"])
        if not options["no_geometry"]:
            self._geometry(engine)
        self.stdout.write(liveness_eval.BONA_FIDE_NOTE)
        self.stdout.write(
            json.dumps(
                {
                    "apcer": {name: round(report.apcer, 4) for name, report in reports.items()},
                    "presentations": {name: report.presentations for name, report in reports.items()},
                }
            )
        )

    def _table(self, reports: dict[str, liveness_eval.ClassReport]) -> None:
        self.stdout.write(
            f"decision: hack_score >= {DECISION_THRESHOLD} is an attack; APCER = share of attack "
            "presentations scored below it (ISO/IEC 30107-3)"
        )
        self.stdout.write(
            f"{'attack class':<22} {'n':>4} {'APCER':>6} {'mean':>6} {'min':>6}  "
            "caught by (cue: presentations failing it; * = the only cue failing, that many times)"
        )
        for name, report in reports.items():
            scores = np.asarray(report.scores)
            caught = ", ".join(
                f"{cue} {report.caught_by[cue]}"
                + (f"*{report.caught_only_by[cue]}" if report.caught_only_by[cue] else "")
                for cue in CUES
                if report.caught_by[cue]
            )
            self.stdout.write(
                f"{name:<22} {report.presentations:>4} {report.apcer:>6.3f} {scores.mean():>6.3f} "
                f"{scores.min():>6.3f}  {caught}"
            )
            for missed in report.missed:
                self.stdout.write(f"    missed: {missed}")

    def _timing(self, results: list[liveness_eval.Scored], threads: int) -> None:
        seconds = np.array([r.seconds for r in results])
        frames = np.array([r.frames for r in results])
        per_frame = float(np.median(seconds / frames)) * 1000
        self.stdout.write(
            f"scoring time ({threads} thread{'s' if threads > 1 else ''}, 640x480 frames): median "
            f"{np.median(seconds) * 1000:.0f} ms per capture of {np.median(frames):.0f} frames "
            f"(p95 {np.percentile(seconds, 95) * 1000:.0f} ms), {per_frame:.1f} ms per frame; "
            f"a 30-frame capture: ~{per_frame * 30:.0f} ms"
        )

    def _geometry(self, engine: FaceEngine) -> None:
        self.stdout.write(
            "geometry check, not a bona fide presentation: a package photo textured onto FaceMesh's "
            "3D mesh and turned (it cannot blink, so it always fails as a whole)"
        )
        for check in liveness_eval.geometry_checks(engine):
            measured = (
                f"turn found, {check.measured:.1f} deg" if check.measured is not None else "turn not found"
            )
            identity = f"{check.identity:.3f}" if check.identity is not None else "-"
            self.stdout.write(
                f"    {check.name:<13} turned {check.peak:+.0f} deg: {measured}; rigidity evidence "
                f"{check.rigidity_evidence:.3f} ({'passed' if check.rigidity_passed else 'FAILED'}); "
                f"identity {identity}"
            )
