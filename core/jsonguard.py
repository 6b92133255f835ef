"""JSON decoding that cannot recurse without bound.

Python's `json` module recurses once per nesting level and dies with RecursionError (an
HTTP 500) near depth 1,000; a request body of a few kilobytes of `[` is enough. The depth is
measured first, on the brackets outside string literals, and a document nested deeper than
the limit is refused before the decoder sees it."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

MAX_JSON_DEPTH = 32
"""Deepest JSON accepted in a request body, a GET `variables` parameter or a WebSocket frame.
Tongxin's deepest input (variables → input object → nested input → list) is five levels."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONTooDeep(json.JSONDecodeError):
    """A JSONDecodeError, so every caller that handles undecodable JSON handles this too."""

    def __init__(self, document: str, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels", document, 0)
        self.limit = limit


def json_depth(text: str) -> int:
    """Deepest bracket nesting outside string literals (0 for a scalar)."""
    if text.count("[") + text.count("{") == 0:
        return 0
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    return max(0, max(accumulate(_DELTA[ch] for ch in brackets), default=0))


def loads_bounded(data: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise json.JSONDecodeError("JSON must be UTF-8", "", error.start) from None
    else:
        text = data
    # Cheap exit for the usual small request: it cannot nest deeper than its bracket count.
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:
        raise JSONTooDeep(text, max_depth)
    return json.loads(text)
