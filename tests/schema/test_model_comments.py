"""models/__init__.py skips Tortoise's source scan for `#:` field comments. That is only
lossless while no model writes one: a `#:` comment would silently not become its field's
description. Derived from the model sources, so a new model file is covered."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import models

FIELD_COMMENT = re.compile(r"^\s*#:", re.MULTILINE)


def test_no_model_describes_a_field_with_a_comment() -> None:
    # given every model module of the app
    files = [Path(str(importlib.util.find_spec(name).origin)) for name in models.MODEL_MODULES]
    # when
    found = [f"{path.name}:{source[:match.start()].count(chr(10)) + 1}"
             for path in files for source in [path.read_text(encoding="utf-8")]
             for match in FIELD_COMMENT.finditer(source)]
    # then: descriptions are given as description=..., which the skipped scan would not change
    assert files and found == []


def test_a_field_comment_would_be_found() -> None:
    assert FIELD_COMMENT.search("class A(Model):\n    #: the name\n    name = CharField()\n")
