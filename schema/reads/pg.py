"""PostgreSQL expressions that give a value exactly as strawberry serialises it.

- DateTime: `datetime.isoformat()` of the UTC value Tortoise returns:
  `2026-12-06T08:29:46.753982+00:00`, and no fraction when the microseconds are zero.
- Float: Python's `json.dumps(float)` is `repr`: `2.0` where PostgreSQL writes `2`. Both write
  the shortest round-tripping digits and the same exponent form below 1e-4; they differ from
  1e15 up (PostgreSQL `1e+15`, Python `1000000000000000.0`), which no compiled float column
  reaches (coordinates, hours of one activity).
- Relay global ids: urlsafe base64 of `Type:id` without padding (schema/relay.py).
- Tags: the comma-separated column as a JSON array, empty tags dropped (decode_tags).
"""

from __future__ import annotations

import base64

from schema.reads.declare import Kind


def datetime_text(sql: str) -> str:
    # One to_char; a zero fraction is the only '.000000' the text can hold (the date has no dot).
    return (f"(replace(to_char(({sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), "
            "'.000000', '') || '+00:00')")


def float_json(sql: str) -> str:
    text = f"({sql})::float8::text"
    return f"(CASE WHEN {text} ~ '[.enN]' THEN {text} ELSE {text} || '.0' END)::json"


def tags_json(sql: str) -> str:
    return ("(SELECT coalesce(json_agg(tag ORDER BY n), '[]'::json) FROM unnest(string_to_array("
            f"{sql}, ',')) WITH ORDINALITY AS tags(tag, n) WHERE tag <> '')")


def global_id(type_name: str, id_sql: str) -> str:
    """schema/relay.py `to_global_id`: urlsafe base64 of `Type:id` without padding. The
    prefix's whole 3-byte groups encode on their own (base64 of a + b is base64 of a, then of
    b, when a's length is a multiple of 3), so they are a constant here and PostgreSQL
    encodes only the last 0-2 bytes of the prefix and the digits (~half the CPU of encoding
    it all). `textsend` is the text's bytes in the client encoding: ASCII here, the same in
    every encoding PostgreSQL speaks (and without convert_to's encoding lookup by name)."""
    prefix = f"{type_name}:".encode()
    whole = len(prefix) - len(prefix) % 3
    head = base64.urlsafe_b64encode(prefix[:whole]).decode()
    rest = prefix[whole:].decode()
    text = f"({literal(rest)} || ({id_sql}))" if rest else f"({id_sql})::text"
    tail = f"rtrim(translate(encode(textsend({text}), 'base64'), '+/', '-_'), '=')"
    return f"{literal(head)} || {tail}" if head else tail


def epoch_micros(sql: str) -> str:
    """A timestamp as integer microseconds since 1970 (a cursor key, decoded in Python)."""
    return f"(extract(epoch FROM {sql}) * 1000000)::bigint"


def round_tenths(sql: str) -> str:
    """Python's `round(x, 1)` of a float8 x >= 0, exactly (`tenths` / 10, correctly
    rounded)."""
    return f"({tenths(sql)} / 10::float8)"


def tenths(sql: str) -> str:
    """10 x Python's `round(x, 1)` of a float8 x >= 0, as a whole float8: the decimal nearest
    x in tenths (half to even on exact ties, as for 0.25). `round(x::numeric, 1)` is not it:
    numeric reads the double to 15 digits and rounds ties away from zero, so 0.15 (in binary
    0.1499999999999999944...) would give 0.2 where Python gives 0.1. Here, in IEEE
    arithmetic only: 10x exactly as s + e (8x and 2x are exact, TwoSum gives the error of
    their sum), compared with the midpoint floor(s) + 0.5.
    tests/reads/test_servicepoints.py checks it against Python over ties and near-ties."""
    x = f"({sql})"
    eight, two = f"({x} * 8)", f"({x} * 2)"
    s = f"({eight} + {two})"
    two_back = f"({s} - {eight})"
    e = f"(({eight} - ({s} - {two_back})) + ({two} - {two_back}))"
    floor = f"floor({s})"
    middle = f"({floor} + 0.5::float8)"
    up = (f"({s} > {middle} OR ({s} = {middle} AND ({e} > 0 OR ({e} = 0 AND "
          f"{floor} / 2 <> floor({floor} / 2)))))")
    return f"(CASE WHEN {up} THEN {floor} + 1 ELSE {floor} END)"


def tenths_json(sql: str) -> str:
    """A whole number of tenths k >= 0 (below 1e15) as Python's `json.dumps(k / 10)`: the
    shortest round-trip digits of the double nearest k/10 are k/10 itself, with one decimal."""
    whole = f"({sql})::bigint"
    return f"(({whole} / 10)::text || '.' || ({whole} % 10)::text)::json"


def json_value(sql: str, kind: Kind) -> str:
    """The SQL value as the JSON value of a field of that kind (null stays null)."""
    if kind is Kind.DATETIME:
        return datetime_text(sql)
    if kind is Kind.FLOAT:
        return float_json(sql)
    if kind is Kind.TAGS:
        return tags_json(sql)
    return sql


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
