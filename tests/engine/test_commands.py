"""The operator commands, run as an operator would (no account, no server)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from tests.conftest import encode, pixels


def run(*args: str) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip().splitlines()


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """Two photos of each of two people (the second a re-encoded, resized copy) and a cat."""
    for name in ("astronaut", "grace_hopper"):
        image = pixels(name)
        (tmp_path / f"{name}_1.jpg").write_bytes(encode(image, "JPEG", quality=92))
        smaller = np.asarray(
            Image.fromarray(image).resize((image.shape[1] * 3 // 4, image.shape[0] * 3 // 4))
        )
        (tmp_path / f"{name}_2.png").write_bytes(encode(smaller, "PNG"))
    (tmp_path / "cat.jpg").write_bytes(encode(pixels("chelsea"), "JPEG"))
    return tmp_path


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_evaluate_faces_reports_and_ends_with_one_json_line(photo_folder: Path, tmp_path: Path) -> None:
    pairs = write_csv(
        tmp_path / "pairs.csv",
        ["image_a", "image_b", "same"],
        [
            ["astronaut_1.jpg", "astronaut_2.png", "1"],
            ["grace_hopper_1.jpg", "grace_hopper_2.png", "1"],
            ["astronaut_1.jpg", "grace_hopper_1.jpg", "0"],
            ["astronaut_2.png", "grace_hopper_2.png", "0"],
            ["cat.jpg", "astronaut_1.jpg", "0"],
        ],
    )
    lines = run("evaluate_faces", "--pairs", str(pairs), "--root", str(photo_folder), "--processes", "1")
    report = json.loads(lines[-1])
    assert set(report) == {"pairs", "failed", "accuracy", "tar_at_far", "confidence_far", "confidence_tar"}
    assert (report["pairs"], report["failed"]) == (5, 1)  # the cat has no face
    assert report["accuracy"] == 1.0
    assert set(report["tar_at_far"]) == {"1e-1", "1e-2", "1e-3"}
    assert set(report["confidence_far"]) == {"0.4", "0.5", "0.6", "0.7", "0.8", "0.9"}
    # Both same-person pairs (a photo and its resized copy) pass the vendor's 0.7.
    assert report["confidence_tar"]["0.7"] == 1.0
    assert any(line.startswith("best accuracy") for line in lines)


def test_evaluate_faces_refuses_a_file_without_the_columns(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", ["a", "b"], [["x", "y"]])
    with pytest.raises(CommandError, match="image_a,image_b,same"):
        run("evaluate_faces", "--pairs", str(bad), "--root", str(tmp_path))


def test_calibrate_faces_refuses_a_set_too_small_to_measure(photo_folder: Path, tmp_path: Path) -> None:
    listing = write_csv(
        tmp_path / "images.csv",
        ["image", "identity"],
        [["astronaut_1.jpg", "collins"], ["astronaut_2.png", "collins"], ["grace_hopper_1.jpg", "hopper"]],
    )
    output = tmp_path / "table.json"
    with pytest.raises(CommandError, match="too few"):
        run(
            "calibrate_faces",
            "--images",
            str(photo_folder),
            "--list",
            str(listing),
            "--output",
            str(output),
            "--processes",
            "1",
        )
    assert not output.exists()


@pytest.mark.models
def test_benchmark_engine_prints_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    lines = run("benchmark_engine", "--repeat", "1", "--threads", "1")
    stages = {line.split()[2] for line in lines if line.strip().startswith("1 ")}
    assert stages == {"decode", "detect", "landmarks", "align+quality", "embed", "pipeline"}
    assert any("resident memory" in line for line in lines)


@pytest.mark.slow
def test_benchmark_decode_prints_photos_and_every_bomb_refused() -> None:
    from facelab.bombs import BOMBS
    from facelab.decode_benchmark import AT_THE_LIMITS, PHOTOS

    lines = run("benchmark_decode", "--repeat", "1")
    rows = {line[14:66].strip(): line for line in lines[2:]}
    assert set(rows) == set(PHOTOS) | set(AT_THE_LIMITS) | set(BOMBS)
    assert all("decoded" in rows[name] for name in (*PHOTOS, *AT_THE_LIMITS))
    assert all("ImageTooCostly" in rows[name] or "ImageTooLarge" in rows[name] for name in BOMBS)


def test_prepare_models_reports_each_model() -> None:
    lines = run("prepare_models")
    assert [line.split(":")[0] for line in lines] == [
        "detector_short",
        "detector_full",
        "face_mesh",
        "embedder_sface",
    ]


def test_evaluate_search_enrols_each_person_once_and_ends_with_one_json_line(
    photo_folder: Path, tmp_path: Path
) -> None:
    (photo_folder / "tom.png").write_bytes(encode(pixels("tom_hanks"), "PNG"))
    listing = write_csv(
        tmp_path / "images.csv",
        ["image", "identity"],
        [
            ["astronaut_1.jpg", "collins"],
            ["astronaut_2.png", "collins"],
            ["grace_hopper_1.jpg", "hopper"],
            ["grace_hopper_2.png", "hopper"],
            ["tom.png", "hanks"],  # one photo: enrolled, a distractor, searched non-mated only
            ["cat.jpg", "chelsea"],  # no face
        ],
    )
    lines = run("evaluate_search", "--images", str(photo_folder), "--list", str(listing), "--processes", "1")
    report = json.loads(lines[-1])
    assert (report["enrolled"], report["mated_searches"], report["non_mated_searches"]) == (3, 2, 5)
    assert report["failed"] == 1 and report["rank1"] == 1.0
    assert report["tpir"]["0.7"] == 1.0  # a photo and its resized copy pass the vendor's 0.7
    assert report["fpir"]["0.5"] == 0.0  # three different people: nobody passes for another
    assert report["promised_fpir"]["0.4"] == pytest.approx(min(1.0, 2 * 10**-1))
    assert any(line.startswith("rank-1 identification rate: 1.0000") for line in lines)
