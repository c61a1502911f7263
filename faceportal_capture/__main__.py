"""Command line: build a liveness package from a video or a folder of frames, or inspect one.

    python -m faceportal_capture --challenge challenge.json --video clip.mp4 -o package.bin
    python -m faceportal_capture --challenge challenge.json --frames DIR --fps 15 -o package.bin
    python -m faceportal_capture inspect package.bin --challenge challenge.json

Exit status: 0 on success, 1 when an input is missing, unreadable or refused (one line on
stderr, no traceback), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROG = "python -m faceportal_capture"


class CliError(Exception):
    """A one-line error for the user."""


def _mark(text: str) -> tuple[str, float]:
    action, sep, seconds = text.rpartition("@")
    try:
        value = float(seconds)
    except ValueError:
        value = math.nan
    if not sep or not action or not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected ACTION@SECONDS, e.g. blink@1.5, not {text!r}")
    return action, value


def _build_parser() -> argparse.ArgumentParser:
    from faceportal_capture.package import MAX_FRAMES

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Seal a recorded liveness answer into an encrypted package for the FacePortal service "
        "(use 'inspect' to open one).",
        epilog=f"Then: {PROG} inspect PACKAGE --challenge CHALLENGE.json",
    )
    parser.add_argument(
        "--challenge", required=True, type=Path, help="the service's challenge answer (JSON file)"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", type=Path, help="a video file of the user answering the challenge")
    source.add_argument("--frames", type=Path, help="a folder of image files, one per frame, in name order")
    parser.add_argument(
        "--fps", type=float, default=15.0, help="frame rate of --frames (default: %(default)s)"
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        default=60,
        help=f"sample at most this many frames evenly (1..{MAX_FRAMES}, default: %(default)s)",
    )
    parser.add_argument(
        "--max-side",
        type=int,
        default=640,
        help="shrink frames so their longer side is at most this (default: %(default)s)",
    )
    parser.add_argument(
        "--mark",
        type=_mark,
        action="append",
        default=[],
        metavar="ACTION@SECONDS",
        help="when a prompt was shown, on the clip's clock (repeatable), e.g. --mark blink@0.5",
    )
    parser.add_argument("-o", "--output", required=True, type=Path, help="where to write the package")
    return parser


def _inspect_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} inspect", description="Open a package with its challenge's key and summarize it."
    )
    parser.add_argument("package", type=Path, help="the package file")
    parser.add_argument(
        "--challenge", required=True, type=Path, help="the challenge answer it was sealed for (JSON file)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise CliError(f"{what} is a folder, not a file: {path}") from None
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _challenge(path: Path) -> Any:
    from faceportal_capture.build import Challenge, InputError

    try:
        return Challenge.from_json(_read(path, "challenge file"))
    except InputError as exc:
        raise CliError(f"{path}: {exc}") from None


def _write_atomically(path: Path, data: bytes) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def _build(argv: Sequence[str]) -> int:
    args = _build_parser().parse_args(argv)
    from faceportal_capture.build import InputError, build_package, frames_from_folder, frames_from_video
    from faceportal_capture.package import PackageError

    challenge = _challenge(args.challenge)
    if challenge.expired():
        print(f"warning: the challenge expired at {challenge.expires_at}", file=sys.stderr)
    try:
        if args.video is not None:
            frames = frames_from_video(args.video, max_frames=args.max_frames, max_side=args.max_side)
        else:
            frames = frames_from_folder(
                args.frames, fps=args.fps, max_frames=args.max_frames, max_side=args.max_side
            )
        package = build_package(frames, challenge, marks=args.mark or None)
    except PackageError as exc:
        raise CliError(
            f"cannot seal the package: {exc.reason} (try fewer --max-frames or a smaller --max-side)"
        ) from None
    except InputError as exc:
        raise CliError(str(exc)) from None
    _write_atomically(args.output, package)
    duration = frames[-1][1] - frames[0][1]
    print(f"wrote {args.output}: {len(frames)} frames over {duration:.2f} s, {len(package)} bytes")
    return 0


def _summary(capture: Any, size: int) -> dict[str, Any]:
    from datetime import UTC, datetime

    from PIL import Image

    frames = capture.frames
    times = [frame.timestamp_us for frame in frames]
    duration = (times[-1] - times[0]) / 1e6
    try:
        with Image.open(io.BytesIO(frames[0].jpeg)) as first:
            frame_size = f"{first.width}x{first.height}"
    except (OSError, ValueError):
        frame_size = "undecodable"
    started = (
        datetime.fromtimestamp(capture.started_at_unix_ms / 1000, UTC) if capture.started_at_unix_ms else None
    )
    device = capture.device
    return {
        "challenge_id": capture.challenge_id,
        "format_version": capture.format_version,
        "package_bytes": size,
        "frames": len(frames),
        "duration_s": round(duration, 3),
        "fps": round((len(frames) - 1) / duration, 2) if duration > 0 else None,
        "frame_size": frame_size,
        "jpeg_bytes": sum(len(frame.jpeg) for frame in frames),
        "actions": list(capture.actions),
        "marks": [{"action": mark.action, "at_s": mark.prompted_at_us / 1e6} for mark in capture.marks],
        "started_at": started.isoformat().replace("+00:00", "Z") if started else None,
        "device": {
            "sdk": device.sdk,
            "sdk_version": device.sdk_version,
            "platform": device.platform,
            "user_agent": device.user_agent,
            "size": f"{device.width}x{device.height}",
        },
    }


def _inspect(argv: Sequence[str]) -> int:
    args = _inspect_parser().parse_args(argv)
    from faceportal_capture.package import PackageError, open_package, read_key_id

    challenge = _challenge(args.challenge)
    data = _read(args.package, "package")
    try:
        key_id = read_key_id(data)
        if key_id != challenge.challenge_id:
            raise CliError(f"the package is sealed for challenge {key_id}, not {challenge.challenge_id}")
        capture = open_package(data, challenge.key)
    except PackageError as exc:
        raise CliError(f"package refused: {exc.reason}") from None
    summary = _summary(capture, len(data))
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    marks = ", ".join(f"{mark['action']}@{mark['at_s']:.2f}s" for mark in summary["marks"]) or "none"
    device = summary["device"]
    print(
        f"package:    {args.package} ({summary['package_bytes']} bytes, format {summary['format_version']})"
    )
    print(f"challenge:  {summary['challenge_id']}")
    print(f"actions:    {', '.join(summary['actions']) or 'none'}")
    print(f"frames:     {summary['frames']} ({summary['frame_size']}, {summary['jpeg_bytes']} JPEG bytes)")
    fps = f", {summary['fps']} fps" if summary["fps"] else ""
    print(f"duration:   {summary['duration_s']:.2f} s{fps}")
    print(f"marks:      {marks}")
    print(f"started at: {summary['started_at'] or 'unknown'}")
    print(
        f"device:     {device['sdk'] or '?'} {device['sdk_version']} on {device['platform'] or '?'}"
        f" ({device['size']})"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Our own one-line errors say what went wrong; keep OpenCV and FFmpeg from adding log lines
    # (set these variables yourself to see them).
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    try:
        if arguments[:1] == ["inspect"]:
            return _inspect(arguments[1:])
        if arguments[:1] == ["build"]:
            arguments = arguments[1:]
        return _build(arguments)
    except CliError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, but say what it was
        print(f"{PROG}: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
