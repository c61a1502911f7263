"""Regenerate ``liveness_pb2.py`` / ``liveness_pb2.pyi`` from ``liveness.proto``.

The generated files are committed so that the runtime needs only ``protobuf``. Regenerate
them after editing the schema, from the repository root::

    .venv/bin/python -m faceportal_capture.codegen

This uses the ``protoc`` bundled in ``grpcio-tools`` (a development requirement). Its version
fixes the "gencode" version written into ``liveness_pb2.py``; the ``protobuf`` runtime pinned in
requirements.txt must be at least that version and of the same major version.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = PACKAGE_DIR.parent
PROTO = "faceportal_capture/liveness.proto"
GENERATED = ("liveness_pb2.py", "liveness_pb2.pyi")


def generate(out_dir: Path, *, source_root: Path = ROOT) -> list[Path]:
    """Run protoc on ``source_root/faceportal_capture/liveness.proto`` into ``out_dir``.

    ``out_dir`` receives ``faceportal_capture/liveness_pb2.py`` and ``.pyi``; returns their paths.
    The proto is named relative to ``source_root`` so that its descriptor is registered as
    ``faceportal_capture/liveness.proto``, matching the import path of the generated module.
    """
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        "protoc",
        f"-I{source_root}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        str(source_root / PROTO),
    ]
    status = protoc.main(argv)
    if status != 0:
        raise RuntimeError(f"protoc failed with status {status}")
    return [out_dir / "faceportal_capture" / name for name in GENERATED]


def main() -> int:
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for path in generate(Path(tmp)):
            shutil.copyfile(path, PACKAGE_DIR / path.name)
            print(f"wrote {PACKAGE_DIR / path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
