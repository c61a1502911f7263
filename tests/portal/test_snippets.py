"""The try-it pages' code samples (static/portal/snippets.js), run in Node on the registry's
real entries (portal.tryit.endpoint_entry) with hostile values: every language's sample
compiles or parses where this machine has its tool (Python: compile(); JavaScript: node
--check; Java: javac), the string literals of every language give back exactly the values
(read with each language's own escape rules), and the secret appears only when asked for."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from faceportal.endpoints import endpoint
from portal.tryit import endpoint_entry

STATIC = Path(__file__).resolve().parents[2] / "static" / "portal"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="needs node (Debian's nodejs)")

HOSTILE = 'a\'b "c" \\ $HOME `id` ;\n\tline two \u2028 é 😀 \x01 {x} %s'
SECRET = "0123456789abcdef0123456789abcdef"
ORIGIN = "http://127.0.0.1:8000"
LANGUAGES = ("curl", "python", "javascript", "java", "php", "csharp")


def render(tmp_path: Path, name: str, values: dict[str, Any]) -> dict[str, str]:
    """Every language's sample of one call, as the page makes them."""
    folder = tmp_path / "generator"
    folder.mkdir(exist_ok=True)
    for module in ("snippets.js", "curl.js"):
        shutil.copy(STATIC / module, folder / module)
    (folder / "package.json").write_text('{"type": "module"}')
    (folder / "run.js").write_text(
        'import { snippets } from "./snippets.js";\n'
        "const [entry, values] = JSON.parse(process.argv[2]);\n"
        "process.stdout.write(JSON.stringify(snippets(entry, values)));\n"
    )
    argument = json.dumps([endpoint_entry(endpoint(name)), values])
    run = subprocess.run(
        [str(NODE), str(folder / "run.js"), argument], capture_output=True, text=True, timeout=60, check=True
    )
    return dict(json.loads(run.stdout))


def compare_call(secret: str | None = None) -> dict[str, Any]:
    return {
        "origin": ORIGIN,
        "apiId": "f" * 32,
        "fields": [
            {"name": "image_one_file", "file": {"name": "group 'one'.jpg"}},
            {"name": "image_two_url", "value": HOSTILE},
            {"name": "verbose", "value": "true"},
        ],
        "output": "",
        "secret": secret,
    }


def mask_call() -> dict[str, Any]:
    return {
        "origin": ORIGIN,
        "apiId": "e" * 32,
        "fields": [
            {"name": "selfie_file", "file": {"name": "me.png"}},
            {"name": "mask_eye", "value": "true"},
        ],
        "output": "masked.png",
        "secret": None,
    }


def test_every_language_is_made_and_none_holds_the_secret_unless_asked(tmp_path: Path) -> None:
    hidden = render(tmp_path, "compare", compare_call())
    assert sorted(hidden) == sorted(LANGUAGES)
    for language, text in hidden.items():
        assert SECRET not in text, language
        assert "API_SECRET" in text, language  # read from the environment
        assert (
            "f" * 32 in text and "image_one_file" in text and "/identity/compare_faces_in_two_images" in text
        )
    shown = render(tmp_path, "compare", compare_call(SECRET))
    for language, text in shown.items():
        assert SECRET in text, language
        assert "API_SECRET" not in text, language


def test_the_id_field_is_the_familys(tmp_path: Path) -> None:
    values = {**compare_call(), "fields": [{"name": "image", "file": {"name": "a.jpg"}}]}
    texts = render(tmp_path, "detect", values)
    assert all(f"{ORIGIN}/faceid/v1/detect" in text for text in texts.values())  # the registry's path
    assert "api_key" in texts["python"] and '"api_id"' not in texts["python"]
    assert "'api_key=" + "f" * 32 + "'" in texts["curl"]


def python_strings(source: str) -> dict[str, object]:
    """The `data` dict of the Python sample, its literal entries read by Python itself."""
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "data":
            assert isinstance(node.value, ast.Dict)
            return {
                ast.literal_eval(key): ast.literal_eval(value)
                for key, value in zip(node.value.keys, node.value.values, strict=True)
                if key is not None and isinstance(value, ast.Constant)
            }
    raise AssertionError("no data dict")


def test_python_compiles_and_its_literals_are_the_values(tmp_path: Path) -> None:
    for name, values in (
        ("compare", compare_call()),
        ("mask", mask_call()),
        ("compare", compare_call(SECRET)),
    ):
        source = render(tmp_path, name, values)["python"]
        compile(source, "call.py", "exec")
        data = python_strings(source)
        for field in values["fields"]:
            if "value" in field:
                assert data[field["name"]] == field["value"]
        if values["secret"]:
            assert data["api_secret"] == SECRET
    assert 'open("masked.png", "wb")' in render(tmp_path, "mask", mask_call())["python"]


def test_javascript_parses(tmp_path: Path) -> None:
    for name, values in (("compare", compare_call()), ("mask", mask_call())):
        path = tmp_path / f"{name}.mjs"
        path.write_text(render(tmp_path, name, values)["javascript"])
        subprocess.run([str(NODE), "--check", str(path)], check=True, capture_output=True, timeout=60)
    # A value that would end the literal is caught by the check itself.
    broken = tmp_path / "broken.mjs"
    broken.write_text('form.append("a", "b"c");\n')
    assert (
        subprocess.run([str(NODE), "--check", str(broken)], capture_output=True, timeout=60).returncode != 0
    )


def decode_php(literal: str) -> str:
    assert literal[0] == literal[-1] == "'"
    return re.sub(r"\\([\\'])", r"\1", literal[1:-1])


def decode_csharp(literal: str) -> str:
    assert literal[0] == literal[-1] == '"'
    simple = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "0": "\0"}

    def one(match: re.Match[str]) -> str:
        escape = match.group(1)
        return chr(int(escape[1:], 16)) if escape[0] == "u" else simple[escape]

    text = re.sub(r"\\(u[0-9a-fA-F]{4}|.)", one, literal[1:-1])
    # \uXXXX pairs are UTF-16 surrogates, as in C#.
    return text.encode("utf-16", "surrogatepass").decode("utf-16")


def test_php_and_csharp_literals_give_back_the_values(tmp_path: Path) -> None:
    texts = render(tmp_path, "compare", compare_call())
    php = texts["php"]
    assert php.startswith("<?php\n")
    pairs = dict(re.findall(r"^    ('(?:[^'\\]|\\.)*') => ('(?:[^'\\]|\\.)*'),$", php, re.M))
    assert decode_php(pairs["'image_two_url'"]) == HOSTILE
    assert "new CURLFile('group \\'one\\'.jpg')" in php
    csharp = texts["csharp"]
    added = re.findall(
        r'^form\.Add\(new StringContent\(("(?:[^"\\]|\\.)*")\), ("(?:[^"\\]|\\.)*")\);$', csharp, re.M
    )
    by_name = {decode_csharp(name): decode_csharp(value) for value, name in added}
    assert by_name["image_two_url"] == HOSTILE and by_name["api_id"] == "f" * 32
    # A C# regular string may not hold a line break (PHP's single-quoted one may).
    assert "\n\tline two" not in csharp


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("javac") is None, reason="needs javac")
def test_java_compiles(tmp_path: Path) -> None:
    for name, values in (("compare", compare_call()), ("mask", mask_call())):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "FacePortalCall.java").write_text(render(tmp_path, name, values)["java"])
        run = subprocess.run(
            ["javac", "-d", str(folder), str(folder / "FacePortalCall.java")],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert run.returncode == 0, run.stderr
