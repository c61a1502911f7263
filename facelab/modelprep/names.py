"""Graph-wide unique ONNX names, shared by the converters."""

from __future__ import annotations


def unique_name(base: str, taken: set[str]) -> str:
    """`base`, or `base_N` for the first N not yet taken; the name is reserved in `taken`."""
    candidate, n = base, 0
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate
