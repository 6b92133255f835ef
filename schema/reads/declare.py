"""How a strawberry type's fields read from SQL: the small declaration a type module makes
next to the type (`readable(Activity, "activity", {...})`). Types, arguments, nullability and
descriptions stay in the strawberry type; this says only which column or expression each
field is, so the read compiler (schema/reads/compiler.py) can build the type's JSON in the
database. A field without a declaration is not compiled: the root field selecting it runs on
the general executor.

Every declared value must come out exactly as the strawberry field gives it (the property
test in tests/reads compares the two paths): timestamps, floats and tag lists are formatted
by schema/reads/pg.py as strawberry serialises them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from schema.relay import BY_ID, Order


class Kind(Enum):
    """How a SQL value becomes the field's JSON value."""

    TEXT = "text"  # strings and enum names (stored as their names)
    INT = "int"
    BOOL = "bool"
    FLOAT = "float"  # JSON number as Python's json.dumps writes a float (2.0, not 2)
    DATETIME = "datetime"  # ISO 8601 as datetime.isoformat() writes a UTC datetime
    TAGS = "tags"  # comma-separated tags column -> JSON array (resolvers.validation.decode_tags)


@dataclass(frozen=True)
class Value:
    """A column or SQL expression of the row; `{t}` in `sql` is the row's alias."""

    sql: str
    kind: Kind = Kind.TEXT

    @classmethod
    def column(cls, name: str, kind: Kind = Kind.TEXT) -> Value:
        return cls("{t}." + name, kind)


@dataclass(frozen=True)
class InPython:
    """A value the database reads and Python finishes: `convert` gets the SQL value's text
    (`{t}`-formatted `sql`, never null) and returns the field's value. For what SQL cannot
    reproduce exactly: Python's float rounding, thresholds from the deployment's settings."""

    sql: str
    convert: Callable[[str], Any]


@dataclass(frozen=True)
class Managing:
    """Visible to those who may manage the row's team (platform admins and admins of the team
    or an ancestor: resolvers/team.py `administered_team_ids`), null for others; with
    `value` None the field is that boolean itself."""

    team_column: str
    value: Value | None = None


@dataclass(frozen=True)
class Moderating:
    """Whether the viewer moderates the board in `board_column` (platform admins moderate
    every board: forum/rules.py `is_moderator`)."""

    board_column: str


@dataclass(frozen=True)
class Personal:
    """Personal data: `value` for the volunteer themself (`self_only`) or also for platform
    admins (resolvers/volunteer.py `can_see_pii`), null for everyone else."""

    value: Value | InPython
    self_only: bool = False


@dataclass(frozen=True)
class RecordedRead:
    """An unmasked value whose every read is recorded (schema/pii.py `read_unmasked`): only a
    platform admin reading someone else gets it, and that read, with its record, stays on the
    general path; on the viewer's own row and for everyone else the field is null, whatever
    its arguments (resolvers/pii.py `check_pii_read` refuses before it reads the reason)."""


@dataclass(frozen=True)
class ToOne:
    """The row of `table` whose id is this row's `column` (null when the column is)."""

    type_name: str
    table: str
    column: str


@dataclass(frozen=True)
class Embedded:
    """An object type built from the same row (an activity's `requirements`)."""

    type_name: str


@dataclass(frozen=True)
class ViewersOwn:
    """The viewer's own row of `table` pointing at this row through `column` (null when
    anonymous or absent), e.g. an activity's `mySignUp`."""

    type_name: str
    table: str
    column: str
    volunteer_column: str = "volunteer_id"


@dataclass(frozen=True)
class Count:
    """How many rows of `table` point at this row through `column` and match `where`
    (SQL over the counted row's alias `{c}`)."""

    table: str
    column: str
    where: str = "TRUE"


@dataclass(frozen=True)
class Children:
    """A connection (first/after) over rows of `table` pointing at this row through `column`,
    matching `where` (over `{c}`), in `order` (keyset: `kinds` are its columns' kinds, id
    last); `node` names the node's type and, when the node is another table's row (a
    membership's team), how to reach it. `unless_moderating` / `unless_managing`: `where`
    applies only to those who do not moderate the board (hidden threads) or manage the team
    (drafts) in that column of the row."""

    type_name: str
    table: str
    column: str
    where: str = "TRUE"
    node_table: str | None = None
    node_column: str | None = None
    order: Order = BY_ID
    kinds: tuple[Kind, ...] = (Kind.INT,)
    unless_moderating: str | None = None
    unless_managing: str | None = None
    # Only on the viewer's own row (`me`); elsewhere the general path answers (FORBIDDEN).
    self_only: bool = False


Reading = (Value | InPython | Managing | Moderating | Personal | RecordedRead | ToOne | Embedded
           | ViewersOwn | Count | Children)


@dataclass(frozen=True)
class Readable:
    type_name: str
    table: str
    fields: dict[str, Reading] = field(default_factory=dict)


READABLE: dict[str, Readable] = {}


def readable(type_name: str, table: str, fields: dict[str, Reading]) -> None:
    """Declare how the GraphQL type `type_name` (every field by its GraphQL name) reads from
    `table`; `id` (the Relay global id) and `__typename` need no declaration."""
    READABLE[type_name] = Readable(type_name, table, fields)


def same(kind: Kind, *names: str) -> dict[str, Reading]:
    """Fields read unchanged from the column of the same (snake_case) name."""
    return {_camel(name): Value.column(name, kind) for name in names}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
