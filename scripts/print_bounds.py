"""Prints the input bounds in force into docs/inputs.md (between its `bounds` markers):

    python -m scripts.print_bounds

Run it after changing schema/limits.py; tests/schema/test_described_limits.py fails until then."""

from __future__ import annotations

from pathlib import Path

from schema import schema
from schema.limits import rewrite_docs

DOCS = Path(__file__).resolve().parent.parent / "docs" / "inputs.md"

if __name__ == "__main__":
    rewrite_docs(str(DOCS), schema._schema)
