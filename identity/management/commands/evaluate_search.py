from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from faceengine.calibration import load_calibration
from facelab.search_eval import evaluate
from identity.management.commands import _labelled_set as labelled_set


class Command(BaseCommand):
    help = (
        "Identification (1:N) accuracy of face-set search on a labelled image set (image,identity "
        "CSV): every person enrolled by one photo, the others searched; prints rank-1, the "
        "identification rates and the false-positive identification rate at each documented "
        "threshold, and the last line as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        labelled_set.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        rows = labelled_set.read_list(options["list"])
        _, vectors = labelled_set.embeddings(rows, options, self.stderr._out)
        report = evaluate([identity for _, identity in rows], vectors, load_calibration())
        out = self.stdout.write
        out(
            f"{report.enrolled} people enrolled; {report.mated} mated searches (people with several "
            f"photos), {report.non_mated} non-mated (own person left out); "
            f"{report.failed} photos without a face"
        )
        out(f"rank-1 identification rate: {report.rank1:.4f}")
        out("threshold  TPIR (right, first, >= t)  FPIR (someone wrong >= t)  promised (N-1) x FAR")
        for level in report.fpir:
            out(
                f"{level:>9}  {report.tpir[level]:>26.4f}  {report.fpir[level]:>25.6f}  "
                f"{report.promised_fpir[level]:>20.6f}"
            )
        out(json.dumps(report.as_json()))
