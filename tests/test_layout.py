"""Who may import whom (docs/architecture.md), read from the source (no import is run): the
engine imports no Django and no app; the lab is imported by no serving module; the portal
imports neither the engine nor the lab nor any admin module (importing an admin module
registers admins); accounts imports neither the engine nor the lab; storage never imports the
portal or the API.

Every import counts, function-level ones included: a late import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ("faceengine", "facelab")
# Our own admin modules; Django's (django.contrib.admin.forms, ...) are a library like any other.
OUR_ADMINS = tuple(f"{app}.admin" for app in ("accounts", "facesets", "identity", "portal", "resources"))


def imported_modules(package: str) -> list[tuple[str, str]]:
    """(file, module) for every import in the package, `from . import x` resolved."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT)
        here = ".".join(relative.with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(str(relative), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = here.split(".")[: -node.level]
                    base = ".".join([*parent, base] if base else parent)
                # `from accounts import admin` imports accounts.admin.
                found += [(str(relative), f"{base}.{alias.name}") for alias in node.names]
                found.append((str(relative), base))
    return found


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(f"{prefix}.") for prefix in prefixes)


def offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{file}: {module}" for file, module in imported_modules(package) if within(module, forbidden)]


def test_the_reader_sees_imports_of_every_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "sample"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "one.py").write_text(
        "import faceengine.liveness\nfrom accounts import admin\n"
        "def late():\n    from facelab import bombs\nfrom . import two\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    modules = {module for _, module in imported_modules("sample")}
    assert {"faceengine.liveness", "accounts.admin", "facelab.bombs", "sample.two"} <= modules


def test_the_portal_imports_no_engine_and_no_admin_module() -> None:
    assert offending("portal", ENGINE + OUR_ADMINS) == []


def test_accounts_imports_no_engine() -> None:
    assert offending("accounts", ENGINE) == []


def test_storage_never_imports_the_portal() -> None:
    assert offending("resources", ("portal",)) == []


APPS = ("accounts", "faceportal", "facesets", "identity", "portal", "resources")


def test_the_engine_imports_no_django_and_no_app() -> None:
    assert offending("faceengine", ("django", "rest_framework", "facelab", *APPS)) == []


def test_the_lab_is_imported_by_no_serving_module() -> None:
    # The management commands are the offline tools' front door, not serving code.
    for package in APPS:
        found = [line for line in offending(package, ("facelab",)) if "/management/commands/" not in line]
        assert found == [], package


def test_storage_never_imports_the_api() -> None:
    assert offending("resources", ("identity",)) == []


def test_face_sets_import_neither_the_api_nor_the_portal() -> None:
    # Face sets are storage and search: the API shapes their answers, the portal shows them.
    assert offending("facesets", ("identity", "portal")) == []


def test_accounts_and_storage_never_import_face_sets() -> None:
    assert offending("accounts", ("facesets",)) == [] and offending("resources", ("facesets",)) == []
