"""The committed protobuf code: up to date with liveness.proto, runnable on the pinned runtime."""

from __future__ import annotations

import re
from pathlib import Path

import google.protobuf
import pytest
from google.protobuf.descriptor import FieldDescriptor

from faceportal_capture import codegen, liveness_pb2
from tests.capture.conftest import ROOT

PACKAGE = ROOT / "faceportal_capture"


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools (requirements-dev.txt) provides protoc")
    generated = codegen.generate(tmp_path)
    for path in generated:
        committed = PACKAGE / path.name
        assert committed.read_text() == path.read_text(), (
            f"{committed.name} is stale: run .venv/bin/python -m faceportal_capture.codegen"
        )


def gencode_version() -> tuple[int, ...]:
    source = (PACKAGE / "liveness_pb2.py").read_text()
    match = re.search(r"^# Protobuf Python Version: (\S+)$", source, re.MULTILINE)
    assert match, "liveness_pb2.py names no protobuf version"
    return version(match.group(1))


def test_requirements_pin_a_runtime_for_the_generated_code() -> None:
    """New gencode on an older runtime is never allowed; a newer major is not guaranteed."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    pins = [line.split("#")[0].strip() for line in lines if re.match(r"\s*protobuf\s*[<>=!~]", line)]
    assert len(pins) == 1, "requirements.txt must pin protobuf exactly once"
    clauses = dict(
        (operator, version(number)) for operator, number in re.findall(r"(>=|==|~=|<)\s*([\d.]+)", pins[0])
    )
    gencode = gencode_version()
    lowest = clauses.get(">=") or clauses.get("==") or clauses.get("~=")
    assert lowest is not None and lowest >= gencode, f"{pins[0]} allows runtimes older than {gencode}"
    highest = clauses.get("<") or clauses.get("==")
    assert highest is not None and highest <= (gencode[0] + 1,), f"{pins[0]} allows another major version"
    installed = version(google.protobuf.__version__)
    assert gencode <= installed and installed[0] == gencode[0]


def test_schema() -> None:
    """The wire contract with the other SDKs: names, numbers and types of every field."""
    file = liveness_pb2.DESCRIPTOR
    assert file.package == "faceportal.liveness.v1"
    assert file.name == "faceportal_capture/liveness.proto"
    t = FieldDescriptor
    expected = {
        "Frame": [("jpeg", 1, t.TYPE_BYTES), ("timestamp_us", 2, t.TYPE_INT64)],
        "ActionMark": [("action", 1, t.TYPE_STRING), ("prompted_at_us", 2, t.TYPE_INT64)],
        "Device": [
            ("sdk", 1, t.TYPE_STRING),
            ("sdk_version", 2, t.TYPE_STRING),
            ("platform", 3, t.TYPE_STRING),
            ("user_agent", 4, t.TYPE_STRING),
            ("width", 5, t.TYPE_UINT32),
            ("height", 6, t.TYPE_UINT32),
        ],
        "Capture": [
            ("format_version", 1, t.TYPE_UINT32),
            ("challenge_id", 2, t.TYPE_STRING),
            ("actions", 3, t.TYPE_STRING),
            ("frames", 4, t.TYPE_MESSAGE),
            ("marks", 5, t.TYPE_MESSAGE),
            ("device", 6, t.TYPE_MESSAGE),
            ("started_at_unix_ms", 7, t.TYPE_INT64),
        ],
    }
    assert set(file.message_types_by_name) == set(expected)
    for name, fields in expected.items():
        message = file.message_types_by_name[name]
        assert message.full_name == f"faceportal.liveness.v1.{name}"
        assert [(f.name, f.number, f.type) for f in message.fields] == fields
    repeated = {f.name for f in file.message_types_by_name["Capture"].fields if f.is_repeated}
    assert repeated == {"actions", "frames", "marks"}
