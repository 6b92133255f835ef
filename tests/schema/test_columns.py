"""Every bounded text input fits the column it is stored in or compared with: a value the
boundary lets through but the column cannot hold failed in Tortoise's field validation (or in
PostgreSQL) as INTERNAL, e.g. `verifyCertificate(code:)` at 41–64 characters against a
40-character column. Walks the live schema and the Tortoise models; needs no database.

Which column an input reaches is read from the code: the `column` declared beside its bound in
schema/limits.py, else the field named like it on the input's own model (`ActivityInput.title`
→ `Activity.title`) or on the model its field returns (`report(reason:)` → `Report.reason`),
else every model field of that name (the shortest must hold it). An input
that reaches none must say why in the table (`unstored`), so a new argument cannot slip by."""

from __future__ import annotations

import importlib
import re

from graphql import get_named_type
from hypothesis import given, settings
from hypothesis import strategies as st
from tortoise.fields import CharField, Field, JSONField, TextField
from tortoise.models import Model

from models import MODEL_MODULES
from resolvers.errors import BadInput
from schema import schema
from schema.limits import Bound, bounds_table

# Scalars whose text is parsed before use and never stored as typed.
PARSED = {"ID": "a global ID, decoded to an integer key", "DateTime": "parsed", "Date": "parsed"}
MODEL_SUFFIXES = ("UpdateInput", "Input", "Update", "Filter", "Connection")


def _models() -> dict[str, type[Model]]:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    found: dict[str, type[Model]] = {}
    pending = list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if not model._meta.abstract:
            found[model.__name__] = model
    return found


MODELS = _models()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _model_named(type_name: str) -> type[Model] | None:
    for suffix in MODEL_SUFFIXES:
        if type_name.endswith(suffix):
            return MODELS.get(type_name.removesuffix(suffix))
    return MODELS.get(type_name)


def _own_models(coordinate: str) -> list[type[Model]]:
    """The model of the type holding the input (`ActivityInput`, `Volunteer`), then for an
    argument the model of what its field returns (`reply(...)`: `Post`)."""
    holder, _, rest = coordinate.partition(".")
    found = [_model_named(holder)]
    if "(" in rest:
        field = schema._schema.type_map[holder].fields[rest.split("(")[0]]  # type: ignore[attr-defined]
        found.append(_model_named(get_named_type(field.type).name))
    return [model for model in found if model is not None]


def columns_reached(coordinate: str, name: str, bound: Bound) -> list[tuple[str, Field]]:
    """The columns a value of this input may reach; [] if it reaches none (declared)."""
    if bound.unstored:
        return []
    if bound.column:
        model_name, field_name = bound.column.split(".")
        model = MODELS.get(model_name)
        assert model is not None and field_name in model._meta.fields_map, (
            f"{coordinate}: declared column {bound.column} is no model field")
        return [(bound.column, model._meta.fields_map[field_name])]
    field_name = _snake(name)
    for own in _own_models(coordinate):
        if field_name in own._meta.db_fields:  # relations to other models are no column
            return [(f"{own.__name__}.{field_name}", own._meta.fields_map[field_name])]
    return [(f"{model.__name__}.{field_name}", model._meta.fields_map[field_name])
            for model in MODELS.values() if field_name in model._meta.db_fields]


def room_needed(bound: Bound, is_list: bool, column: Field) -> int:
    """Characters the column must hold: a list in one text column is stored as ',a,b,'."""
    if is_list and isinstance(column, CharField):
        return bound.max_items * (bound.max_chars + 1) + 1
    return bound.max_chars


def column_mismatches() -> list[str]:
    problems = []
    for coordinate, holder, bound, is_list, is_text in bounds_table(schema._schema):
        scalar = get_named_type(holder.type).name
        if not is_text or scalar in PARSED:
            continue
        if scalar != "String":
            problems.append(f"{coordinate}: text scalar {scalar} is neither String nor parsed")
            continue
        name = coordinate.rsplit("(", 1)[-1].rstrip(":)") if "(" in coordinate else coordinate.split(".")[-1]
        columns = columns_reached(coordinate, name, bound)
        if not columns and not bound.unstored:
            problems.append(f"{coordinate}: reaches no column named {_snake(name)!r}; declare "
                            "column= or unstored= beside its bound in schema/limits.py")
        for label, column in columns:
            if isinstance(column, (TextField, JSONField)):
                continue
            if not isinstance(column, CharField):
                problems.append(f"{coordinate}: reaches {label}, which is no text column")
                continue
            if bound.normalised_by is not None:
                continue  # test_normalised_values_fit_their_column holds the rule to the column
            needed = room_needed(bound, is_list, column)
            if needed > column.max_length:
                problems.append(f"{coordinate}: bound allows {needed} characters, "
                                f"{label} holds {column.max_length}")
    return problems


def test_every_bounded_text_input_fits_its_column() -> None:
    # given: the schema's text inputs and the models' columns
    assert len(MODELS) > 50
    # then
    assert column_mismatches() == []


NORMALISED = sorted(
    {(coordinate, bound) for coordinate, _, bound, _, _ in bounds_table(schema._schema)
     if bound.normalised_by is not None and bound.column}, key=lambda row: row[0])
TYPED = st.text(alphabet="0123456789+-  Xx１８６\u3000", max_size=64)


@given(typed=TYPED)
@settings(max_examples=300, derandomize=True, deadline=None)
def test_normalised_values_fit_their_column(typed: str) -> None:
    # given: an input whose typed form may be longer than its column (a phone with +86)
    assert NORMALISED
    for coordinate, bound in NORMALISED:
        assert bound.normalised_by is not None and bound.column is not None
        model_name, field_name = bound.column.split(".")
        column = MODELS[model_name]._meta.fields_map[field_name]
        assert isinstance(column, CharField)
        # when: the resolver's rule turns what was typed into what is stored
        try:
            stored = bound.normalised_by(typed[:bound.max_chars])
        except BadInput:
            continue
        # then
        assert len(stored) <= column.max_length, coordinate
