"""A limit a description states is the limit enforced: `syncAttendance` said 500 entries and
refused 150, `QuizQuestionInput.text` said 1,000 characters and refused 201. The bounds are
printed into the descriptions from schema/limits.py; this scans every description of the live
schema for a number stated as a length or count limit and holds it to the enforced bound, so a
hand-written number that disagrees fails here. Needs no database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
)

from schema import schema
from schema.limits import DOCS_BEGIN, DOCS_END, Bound, bounds_markdown, bounds_table

NUMBER = r"([0-9][0-9,]*)"
# "≤ 200", "at most 20", "up to 2,000 characters", "8–128 characters": the number and the word after it.
CLAIM = re.compile(rf"(?:≤|\bat most|\bup to|\bno more than|\bmaximum(?: of)?)\s*{NUMBER}(?:\s+(\w+))?"
                   rf"|\b[0-9][0-9,]*\s*[–-]\s*{NUMBER}(?:\s+(\w+))?", re.IGNORECASE)
CHARACTERS = {"characters", "character", "chars", "char"}
ENTRIES = {"entries", "entry", "items", "per", "of"}


def claims(description: str | None) -> Iterator[tuple[int, str]]:
    for match in CLAIM.finditer(description or ""):
        number = match.group(1) or match.group(3)
        unit = (match.group(2) or match.group(4) or "").lower()
        yield int(number.replace(",", "")), unit


def is_list(type_: object) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def disagreements() -> list[str]:
    problems: list[str] = []
    bounded = {coordinate: (bound, listed, text)
               for coordinate, _, bound, listed, text in bounds_table(schema._schema)}

    def check_input(coordinate: str, description: str | None) -> None:
        bound, listed, text = bounded.get(coordinate, (None, False, False))
        for number, unit in claims(description):
            if bound is None:
                continue  # a number, date or enum: its rule lives in its resolver
            if unit in CHARACTERS or (not unit and text and not listed):
                enforced = bound.max_chars
            elif unit in ENTRIES or (not unit and listed):
                enforced = bound.max_items
            else:
                continue  # "≤ 31 days", "1–120 months": not a length
            if number != enforced:
                problems.append(f"{coordinate}: says {number} {unit or ''}, enforced {enforced}")

    def check_field(coordinate: str, description: str | None, arguments: dict) -> None:
        enforced: set[int] = set()
        for name in arguments:
            found: tuple[Bound, bool, bool] | None = bounded.get(f"{coordinate}({name}:)")
            if found is not None:
                enforced |= {found[0].max_chars, found[0].max_items}
        for number, unit in claims(description):
            if (unit in CHARACTERS or unit in ENTRIES) and number not in enforced:
                problems.append(f"{coordinate}: says {number} {unit}, no argument is bounded so")

    for type_ in schema._schema.type_map.values():
        if type_.name.startswith("__"):
            continue
        for number, unit in claims(type_.description):
            if unit in CHARACTERS or unit in ENTRIES:
                problems.append(f"{type_.name}: says {number} {unit} of nothing it enforces")
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)):
            for field_name, field in type_.fields.items():
                coordinate = f"{type_.name}.{field_name}"
                check_field(coordinate, field.description, field.args)
                for arg_name, argument in field.args.items():
                    check_input(f"{coordinate}({arg_name}:)", argument.description)
        elif isinstance(type_, GraphQLInputObjectType):
            for field_name, input_field in type_.fields.items():
                check_input(f"{type_.name}.{field_name}", input_field.description)
        elif isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                for number, unit in claims(value.description):
                    if unit in CHARACTERS or unit in ENTRIES:
                        problems.append(f"{type_.name}.{value_name}: says {number} {unit}")
    return problems


def test_the_claim_scanner_reads_the_phrasings_in_use() -> None:
    # then
    assert list(claims("Bounded: ≤ 20 entries of ≤ 30 characters, one line.")) == [
        (20, "entries"), (30, "characters")]
    assert list(claims("Title, at most 200 characters.")) == [(200, "characters")]
    assert list(claims("Up to 2,000 characters.")) == [(2000, "characters")]
    assert list(claims("The question (≤ 1,000 characters).")) == [(1000, "characters")]
    assert list(claims("team admins of each activity; ≤ 500 per batch")) == [(500, "per")]
    assert list(claims("8–128 characters.")) == [(128, "characters")]
    assert list(claims("End, after the start (≤ 31 days).")) == [(31, "days")]


def test_every_limit_a_description_states_is_the_one_enforced() -> None:
    # then
    assert disagreements() == []


def test_each_bounded_input_shows_its_bound_once() -> None:
    # given: the descriptions the limits table printed
    described = [(coordinate, holder.description or "")
                 for coordinate, holder, *_ in bounds_table(schema._schema)]
    # then
    assert [c for c, text in described if text.count("Bounded:") != 1] == []


def test_the_documented_table_is_the_one_in_force() -> None:
    # given
    docs = (Path(__file__).resolve().parents[2] / "docs" / "inputs.md").read_text(encoding="utf-8")
    # when
    printed = docs.partition(DOCS_BEGIN)[2].partition(DOCS_END)[0]
    # then: `python -m scripts.print_bounds` prints it after a change to schema/limits.py
    assert printed == bounds_markdown(schema._schema)
