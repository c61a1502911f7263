"""The command line, run as a user would: ``python -m faceportal_capture``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from faceportal_capture.build import Challenge
from faceportal_capture.package import open_package
from tests.capture.conftest import ROOT, challenge_json

pytestmark = pytest.mark.slow


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faceportal_capture", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m faceportal_capture: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


@pytest.fixture
def challenge_file(tmp_path: Path) -> Path:
    path = tmp_path / "challenge.json"
    path.write_text(challenge_json(extra="ignored"))
    return path


@pytest.fixture
def clip(tmp_path: Path, astronaut: np.ndarray) -> Path:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (256, 192))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG/AVI")
    for i in range(24):
        window = astronaut[40 + 3 * i : 40 + 3 * i + 192, 60 + 2 * i : 60 + 2 * i + 256]
        writer.write(cv2.cvtColor(np.ascontiguousarray(window), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_build_from_video_and_inspect(tmp_path: Path, challenge_file: Path, clip: Path) -> None:
    output = tmp_path / "out" / "package.bin"
    output.parent.mkdir()
    marks = ["--mark", "blink@0.2", "--mark", "turn_left@0.9"]
    result = run("--challenge", challenge_file, "--video", clip, "--max-frames", "10", "-o", output, *marks)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert f"wrote {output}: 10 frames" in result.stdout
    assert [path.name for path in output.parent.iterdir()] == ["package.bin"]  # no temporary left

    challenge = Challenge.from_json(challenge_file.read_text())
    capture = open_package(output.read_bytes(), challenge.key)
    assert len(capture.frames) == 10
    assert [mark.action for mark in capture.marks] == ["blink", "turn_left"]

    result = run("inspect", output, "--challenge", challenge_file)
    assert result.returncode == 0, result.stderr
    assert "frames:     10 (256x192" in result.stdout
    assert "actions:    blink, turn_left" in result.stdout
    assert "duration:   1.53 s" in result.stdout  # frames 0 and 23 at 15 fps
    assert "marks:      blink@0.20s, turn_left@0.90s" in result.stdout
    assert challenge.challenge_id in result.stdout

    result = run("inspect", output, "--challenge", challenge_file, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["frames"] == 10
    assert summary["actions"] == ["blink", "turn_left"]
    assert summary["duration_s"] == pytest.approx(23 / 15, abs=1e-3)
    assert summary["frame_size"] == "256x192"


def test_build_from_a_folder(tmp_path: Path, challenge_file: Path, astronaut: np.ndarray) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(6):
        Image.fromarray(astronaut[index * 5 : index * 5 + 100, :120]).save(folder / f"f{index}.png")
    output = tmp_path / "package.bin"
    result = run("--challenge", challenge_file, "--frames", folder, "--fps", "10", "-o", output)
    assert result.returncode == 0, result.stderr
    assert "6 frames over 0.50 s" in result.stdout
    capture = open_package(output.read_bytes(), Challenge.from_json(challenge_file.read_text()).key)
    assert [frame.timestamp_us for frame in capture.frames] == [i * 100_000 for i in range(6)]


def test_missing_files(tmp_path: Path, challenge_file: Path, clip: Path) -> None:
    output = tmp_path / "package.bin"
    result = run("--challenge", tmp_path / "nope.json", "--video", clip, "-o", output)
    assert_one_line_error(result, "challenge file not found", "nope.json")
    result = run("--challenge", challenge_file, "--video", tmp_path / "nope.mp4", "-o", output)
    assert_one_line_error(result, "no such video file", "nope.mp4")
    result = run("--challenge", challenge_file, "--frames", tmp_path / "nope", "-o", output)
    assert_one_line_error(result, "no such folder")
    result = run("inspect", tmp_path / "nope.bin", "--challenge", challenge_file)
    assert_one_line_error(result, "package not found")
    assert not output.exists()


def test_unreadable_video(tmp_path: Path, challenge_file: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"junk" * 200)
    result = run("--challenge", challenge_file, "--video", garbage, "-o", tmp_path / "p.bin")
    assert_one_line_error(result, "garbage.mp4")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{broken", "not valid JSON"),
        ('{"challenge_id": "abc"}', "lacks"),
        (challenge_json()[:-1] + ', "key": "short"}', "'key' must be the base64 of 32 bytes"),
        ("\udcff", "not valid JSON"),
    ],
)
def test_bad_challenge_json(tmp_path: Path, clip: Path, content: str, fragment: str) -> None:
    path = tmp_path / "challenge.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    result = run("--challenge", path, "--video", clip, "-o", tmp_path / "p.bin")
    assert_one_line_error(result, "challenge.json", fragment)
    result = run("inspect", clip, "--challenge", path)
    assert_one_line_error(result, fragment)


def test_inspect_refusals(tmp_path: Path, challenge_file: Path, clip: Path) -> None:
    output = tmp_path / "package.bin"
    assert run("--challenge", challenge_file, "--video", clip, "-o", output).returncode == 0

    other = tmp_path / "other.json"
    other.write_text(challenge_json())
    result = run("inspect", output, "--challenge", other)
    assert_one_line_error(result, "sealed for challenge")

    data = bytearray(output.read_bytes())
    data[-1] ^= 1
    tampered = tmp_path / "tampered.bin"
    tampered.write_bytes(bytes(data))
    result = run("inspect", tampered, "--challenge", challenge_file)
    assert_one_line_error(result, "package refused: broken message")

    result = run("inspect", clip, "--challenge", challenge_file)
    assert_one_line_error(result, "package refused: broken message")


def test_usage_errors(tmp_path: Path, challenge_file: Path) -> None:
    result = run("--challenge", challenge_file, "-o", tmp_path / "p.bin")
    assert result.returncode == 2
    assert "one of the arguments --video --frames is required" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("--challenge", challenge_file, "--video", "x", "--mark", "blink", "-o", "p.bin")
    assert result.returncode == 2
    assert "ACTION@SECONDS" in result.stderr
    result = run("--help")
    assert result.returncode == 0
    assert "--video" in result.stdout
