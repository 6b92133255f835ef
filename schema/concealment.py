"""With introspection off (DISABLE_INTROSPECTION=1), an error message names nothing of the
schema that the caller did not write in its document.

graphql-core and strawberry word validation and coercion errors for a developer who sees the
schema: "Did you mean 'first'?", "Cannot query field 'x' on type 'Activity'", "Argument
'createTeam(input:)' of type 'TeamInput!' is required", "Expected value of type 'TeamInput' to
include required field 'district'". Probing with such errors (clairvoyance) rebuilds most of a
schema whose introspection is off. Here each known wording is rewritten to keep only the names
the caller sent (the error's location still points at the spot), and a last check replaces any
message that still names a schema type, or quotes a schema name, absent from the document:
a wording this module does not know yet is answered generically instead of leaking.

What a caller still learns, deliberately:
- that a name it sent is unknown, or that a field it sent needs or refuses a selection, or
  that a value it sent is invalid: any answer to a wrong document says that much;
- that a field misses a required argument, or an input object a required field, but not
  which one (naming it would hand out argument and input field names for free);
- the names of object types it can fetch, through `__typename` (clients such as Apollo's
  cache need it, and such a name is no secret from whoever can read the object).
"""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    specified_scalar_types,
)

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
QUOTED = re.compile(r"'([^']*)'")
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")

# A coercion error inside a variable or argument value: the subject stays, the cause is
# reworded like any other message.
NESTED = re.compile(r"^((?:Variable '\$\w+'|Argument '\w+') has invalid (?:default )?value"
                    r"(?: at [^:]*)?): (.*)$", re.S)

# graphql-core 3.3 and strawberry 0.341 wordings, each kept to the caller's own names.
WORDINGS: tuple[tuple[str, str], ...] = (
    (r"^Cannot query field '(\w+)' on type .*", r"Cannot query field '\1' on this type."),
    (r"^Unknown argument '(\w+)' on field '(?:\w+\.)?(\w+)'.*", r"Unknown argument '\1' on field '\2'."),
    (r"^Unknown argument '(\w+)' on directive '(@\w+)'.*", r"Unknown argument '\1' on directive '\2'."),
    (r"^Unknown type '(\w+)'.*", r"Unknown type '\1'."),
    (r"^Field '(\w+)' of type '[^']*' must have a selection of subfields.*",
     r"Field '\1' must have a selection of subfields."),
    (r"^Field '(\w+)' must not have a selection since type .*",
     r"Field '\1' must not have a selection since it has no subfields."),
    (r"^Argument '@(\w+)\(\w+:\)' of type .* is required.*",
     r"Directive '@\1' is missing a required argument."),
    (r"^Argument '(?:\w+\.)?(\w+)\(\w+:\)' of type .* is required.*",
     r"Field '\1' is missing a required argument."),
    (r"^Argument '(\w+)' of required type .* was not provided.*", r"Argument '\1' needs a value."),
    (r"^Expected value of type '[^']*', found null\. (Argument|Field) '(\w+)'.*",
     r"\1 '\2' cannot be explicitly set to null."),
    (r"^Expected value of type '[^']*' to include required field .*",
     "An input object is missing a required field."),
    (r"^Expected value of type '[^']*' not to include unknown field '(\w+)'.*",
     r"Unknown input field '\1'."),
    (r"^Expected value of type '[^']*' to be an object.*", "Expected an input object."),
    (r"^Expected (?:a )?value of non-null type .*", "Expected a non-null value."),
    (r"^Expected value of type '[^']*', found.*", "Invalid value."),
    (r"^Value '(\w+)' does not exist in '[^']*' enum.*", r"Value '\1' is not a value of this enum."),
    (r"^Value cannot represent an? \w+: (.*)", r"Invalid value: \1"),
    (r"^Variable '(\$\w+)' of type '([^']*)' used in position expecting .*",
     r"Variable '\1' of type '\2' cannot be used in this position."),
    (r"^Variable '(\$?\w+)' (?:is of type '[^']*' but )?must be non-nullable to be used for OneOf.*",
     r"Variable '\1' must be non-nullable to be used here."),
    (r"^(?:Within )?OneOf Input Object .*",
     "Exactly one field of this input object must be given, and not null."),
    (r"^Field '\w+\.(\w+)' must be non-null.*", r"Field '\1' must be non-null."),
    (r"^Fragment ((?:'\w+' )?)cannot be spread here as objects of type '[^']*' "
     r"can never be of type '(\w+)'.*",
     r"Fragment \1cannot be spread here: the objects here can never be of type '\2'."),
    (r"^Fields '(\w+)' conflict because .*",
     r"Fields '\1' conflict: use different aliases on the fields to fetch both."),
    (r"^Anonymous Subscription must (.*)", r"An anonymous subscription must \1"),
    (r"^Subscription '(\w+)' must (.*)", r"The subscription '\1' must \2"),
)
REWORDINGS = tuple((re.compile(pattern, re.S), text) for pattern, text in WORDINGS)


class Concealment:
    """Rewords graphql-core's messages for a schema whose introspection is off."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.type_names: frozenset[str] = frozenset(
            name for name in schema.type_map
            if not name.startswith("__") and name not in specified_scalar_types)
        members: set[str] = set()
        for named in schema.type_map.values():
            if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
                for field_name, field in named.fields.items():
                    members.add(field_name)
                    members.update(field.args)
            elif isinstance(named, GraphQLInputObjectType):
                members.update(named.fields)
            elif isinstance(named, GraphQLEnumType):
                members.update(named.values)
        self.member_names: frozenset[str] = frozenset(members)

    def reword(self, errors: list[GraphQLError]) -> None:
        """In place (as strawberry's field-suggestion removal does), so every list holding an
        error answers the same; idempotent, for errors a validation cache hands out again."""
        for error in errors:
            if worded_by_graphql(error):
                error.message = self.message(error.message,
                                             error.source.body if error.source else "")

    def message(self, message: str, document: str) -> str:
        """`message` as the caller may read it; `document` is the text it sent."""
        nested = NESTED.match(message)
        if nested:
            reworded = f"{nested[1]}: {self._reword(nested[2])}"
            fallback = f"{nested[1].split(' has ', 1)[0]} has an invalid value."
        else:
            reworded = self._reword(message)
            fallback = "This part of the document does not match the schema."
        return fallback if self._discloses(reworded, document) else reworded

    def _reword(self, message: str) -> str:
        for pattern, text in REWORDINGS:
            if pattern.match(message):
                return pattern.sub(text, message, count=1)
        return SUGGESTION.sub("", message)

    def _discloses(self, message: str, document: str) -> bool:
        sent = set(NAME.findall(document))
        if "Did you mean" in message:
            return True
        if any(name in self.type_names and name not in sent for name in NAME.findall(message)):
            return True
        return any(name in self.member_names and name not in sent
                   for quoted in QUOTED.findall(message) for name in NAME.findall(quoted))


def worded_by_graphql(error: GraphQLError) -> bool:
    """Parse, validation and coercion errors: not yet coded, and no domain error (worded by
    us, schema/errors.py) or unexpected exception (masked anyway) behind them."""
    original = error.original_error
    while isinstance(original, GraphQLError):
        original = original.original_error
    return original is None and not (error.extensions or {}).get("code")
