"""Fuzzing strategies that reach resolvers, where random generation mostly stopped at the
boundary: exact bounds (N and N+1) for every bounded argument, optional arguments omitted or
null, and stateful sequences whose ID arguments come from pools of IDs that earlier answers
returned.

Every ID this schema hands out is a Relay global ID (base64url of `Type:n`), `id` fields and
the few `*Id` fields alike, so a harvested ID names its own pool; a value that does not decode
that way would be kept in a `raw` pool. Which pool an ID argument wants is guessed from its name
(`activityId` → Activity, `recordId` → ServiceRecord, `id` → the type the field returns) and
corrected from the server's own answer ("… must be the ID of a Team")."""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
)
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from resolvers.maintenance import make_id_number
from schema.limits import bounds_table
from tests.fuzz.hostile import REFUSED_CODES, FuzzReport, Send, _reach, send_and_check, shown

Step = tuple[GraphQLObjectType, str]  # (parent type, field name)
Path = tuple[str, ...]  # argument name, then input-object field names; list levels are skipped


def relay_type(value: str) -> str | None:
    """The type name inside a Relay global ID, or None when `value` is not one."""
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    name, colon, raw = text.partition(":")
    return name if colon and raw.isdigit() and name.isidentifier() else None


def padded_global_id(global_id: str, length: int) -> str | None:
    """The same object's global ID spelt with leading zeros to exactly `length` characters
    (unpadded base64 cannot have a length of 4k+1)."""
    type_name = relay_type(global_id)
    if type_name is None or length % 4 == 1:
        return None
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode().partition(":")[2]
    size = length // 4 * 3 + {0: 0, 2: 1, 3: 2}[length % 4]
    text = f"{type_name}:{raw.zfill(size - len(type_name) - 1)}"
    if len(text) != size:
        return None
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


ID_OF = re.compile(r"must be (?:the ID of )?an? (?P<types>[A-Z]\w*(?:(?:, | or )[A-Z]\w*)*)\.")


@dataclass
class Pools:
    """IDs by type and harvested text by the argument name it can feed, plus what each ID
    argument turned out to expect."""

    text_names: set[str]
    max_chars: dict[str, int]  # the tightest bound of any text argument of that name
    ids: dict[str, list[str]] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)
    expected: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    cap: int = 40

    def add_id(self, value: str) -> None:
        kind = relay_type(value) or "raw"
        pool = self.ids.setdefault(kind, [])
        if value not in pool:
            pool.append(value)
            if len(pool) > self.cap:
                pool.pop(len(pool) // 2)  # keep the seeded ones and the newest

    def add_text(self, name: str, value: str) -> None:
        pool = self.texts.setdefault(name, [])
        if value and value not in pool and len(pool) < 10:
            pool.append(value)

    def harvest(self, value: Any, key: str = "") -> None:
        """Every `id`/`*Id` string anywhere in an answer, and text fields whose name is also
        the name of a text argument (a certificate's `code`, a page's `endCursor` as `after`)."""
        if isinstance(value, dict):
            for child_key, child in value.items():
                self.harvest(child, child_key)
        elif isinstance(value, list):
            for item in value:
                self.harvest(item, key)
        elif isinstance(value, str):
            if key == "id" or key.endswith("Id"):
                self.add_id(value)
            elif key == "endCursor":
                self.add_text("after", value)
            elif key in self.text_names:
                self.add_text(key, value)

    def learn(self, root: str, body: dict[str, Any]) -> None:
        for error in body.get("errors") or []:
            found = ID_OF.search(error.get("message", ""))
            argument = (error.get("extensions") or {}).get("field")
            if found and isinstance(argument, str):
                self.expected[(root, argument.rsplit(".", 1)[-1])] = re.split(r", | or ", found["types"])

    def id_for(self, root: str, name: str, returns: str, rng: random.Random) -> str:
        kinds = self.expected.get((root, name)) or self._guess(name, returns)
        candidates = [value for kind in kinds for value in self.ids.get(kind, [])]
        if not candidates:
            candidates = [value for pool in self.ids.values() for value in pool]
        return rng.choice(candidates) if candidates else "VGVhbTox"  # Team:1, before any harvest

    def _guess(self, name: str, returns: str) -> list[str]:
        if name in ("id", "ids"):
            return [returns] if returns in self.ids else []
        stem = re.sub(r"Ids?$", "", name)
        wanted = stem[0].upper() + stem[1:]
        exact = [kind for kind in self.ids if kind == wanted]
        return exact or [kind for kind in self.ids if kind.endswith(wanted) or wanted.endswith(kind)]


def new_pools(schema: GraphQLSchema) -> Pools:
    """Empty pools that know the schema's text argument names and their tightest bounds."""
    max_chars: dict[str, int] = {}
    for coordinate, _holder, bound, _is_list, is_text in bounds_table(schema):
        name = re.sub(r"^.*\((\w+):\)$|^\w+\.", r"\1", coordinate)
        if is_text:
            max_chars[name] = min(bound.max_chars, max_chars.get(name, bound.max_chars))
    return Pools(text_argument_names(schema), max_chars)


def text_argument_names(schema: GraphQLSchema) -> set[str]:
    """Names of every String argument and input field: the text worth harvesting."""
    names: set[str] = set()
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLObjectType):
            holders: Iterator[tuple[str, Any]] = (item for f in type_.fields.values() for item in f.args.items())
        elif isinstance(type_, GraphQLInputObjectType):
            holders = iter(type_.fields.items())
        else:
            continue
        names |= {name for name, holder in holders if get_named_type(holder.type).name == "String"}
    return names


def _is_optional(type_: GraphQLInputType) -> bool:
    return not isinstance(type_, GraphQLNonNull)


def _unwrap(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


@dataclass
class Values:
    """Plausible JSON values for arguments, with an optional-argument policy ("some" at
    random, "omit" every optional one, "null" every optional one) and overrides by path."""

    pools: Pools
    rng: random.Random
    root: str
    returns: str
    optional: str = "some"
    overrides: dict[Path, Callable[[GraphQLInputType], Any]] = field(default_factory=dict)

    def include(self, type_: GraphQLInputType, path: Path) -> tuple[bool, bool]:
        """(send it, send it as null)."""
        if path in self.overrides or any(key[:len(path)] == path for key in self.overrides):
            return True, False
        if not _is_optional(type_):
            return True, False
        if self.optional == "omit":
            return False, False
        if self.optional == "null":
            return True, True
        return self.rng.random() < 0.6, False

    def value(self, type_: GraphQLInputType, path: Path) -> Any:
        override = self.overrides.get(path)
        if override is not None:
            return override(type_)
        type_ = _unwrap(type_)
        if isinstance(type_, GraphQLList):
            return [self.value(type_.of_type, path) for _ in range(self.rng.randint(1, 2))]
        if isinstance(type_, GraphQLInputObjectType):
            result: dict[str, Any] = {}
            for key, input_field in type_.fields.items():
                send, null = self.include(input_field.type, (*path, key))
                if send:
                    result[key] = None if null else self.value(input_field.type, (*path, key))
            return result
        if isinstance(type_, GraphQLEnumType):
            return self.rng.choice(list(type_.values))
        assert isinstance(type_, GraphQLScalarType)
        return self.scalar(type_, path[-1])

    def scalar(self, type_: GraphQLNamedType, name: str) -> Any:
        rng, lowered = self.rng, name.lower()
        if type_.name == "ID":
            return self.pools.id_for(self.root, name, self.returns, rng)
        if type_.name == "Boolean":
            return rng.random() < 0.5
        if type_.name == "Int":
            return rng.randint(1, 20 if "capacity" in lowered or "limit" in lowered else 5)
        if type_.name == "Float":
            if "latitude" in lowered:
                return round(39.9 + rng.uniform(-0.05, 0.05), 5)
            if "longitude" in lowered:
                return round(116.4 + rng.uniform(-0.05, 0.05), 5)
            return rng.choice([0.5, 1.0, 2.5, 4.0])
        now = datetime.now(UTC).replace(microsecond=0)
        if type_.name == "DateTime":
            days = 8 + rng.randint(0, 3) if "end" in lowered else 1 + rng.randint(0, 6)
            return (now + timedelta(days=days, hours=rng.randint(0, 5))).isoformat()
        if type_.name == "Date":
            return (now.date() + timedelta(days=rng.randint(-10, 30))).isoformat()
        harvested = self.pools.texts.get(name)
        if harvested and rng.random() < 0.7:
            return rng.choice(harvested)
        return plausible_text(name, rng)[:self.pools.max_chars.get(name, 200)]


LINK_WORDS = ("url", "attachment", "photo", "link", "image")


def is_link(name: str) -> bool:
    return any(word in name.lower() for word in LINK_WORDS)


def plausible_text(name: str, rng: random.Random) -> str:
    lowered = name.lower()
    if is_link(name):
        return f"https://example.cn/{rng.randint(1, 99)}.png"
    if lowered.endswith("time"):
        return f"{rng.randint(7, 20):02d}:{rng.choice(['00', '30'])}"
    if "phone" in lowered:
        return f"1380000000{rng.randint(0, 6)}"
    if "password" in lowered:
        return "tongxin123"
    if lowered == "idnumber":
        return make_id_number(rng=rng)
    if "district" in lowered:
        return rng.choice(["朝阳区", "海淀区", "东城区"])
    if "key" in lowered:
        return f"reply:{rng.randint(1, 9)}"
    if "code" in lowered:
        return f"C{rng.randint(100000, 999999)}"
    return f"测试{lowered[:8]}{rng.randint(1, 99)}"


def selection(schema: GraphQLSchema, type_: GraphQLOutputType, depth: int) -> str:
    """A selection set that reads every leaf without required arguments at `depth` > 0, and
    IDs (for harvesting) below it; connection plumbing costs no depth."""
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if is_abstract_type(named):
        possible = schema.get_possible_types(named)  # type: ignore[arg-type]
        inner = depth if len(possible) <= 4 else 0  # the Node interface has dozens of types
        return "{ __typename " + " ".join(f"... on {p.name} {selection(schema, p, inner)}" for p in possible) + " }"
    assert isinstance(named, GraphQLObjectType)
    parts: list[str] = []
    for name, field_def in named.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined for a in field_def.args.values()):
            continue
        child = get_named_type(field_def.type)
        if is_leaf_type(child):
            if depth > 0 or child.name == "ID" or name in ("code", "endCursor"):
                parts.append(name)
        elif name in ("edges", "node", "pageInfo", "nodes"):
            parts.append(f"{name} {selection(schema, field_def.type, depth)}")
        elif depth > 0:
            parts.append(f"{name} {selection(schema, field_def.type, depth - 1)}")
    return "{ " + " ".join(parts or ["__typename"]) + " }"


@dataclass
class Operation:
    label: str
    query: str
    variables: dict[str, Any]


def build_operation(schema: GraphQLSchema, steps: list[Step], values: Values, depth: int = 1) -> Operation:
    """The operation that calls each step's field in turn (inline fragments where a step's
    parent is not the previous field's own type), arguments as variables; `values` fills the
    last step's arguments, earlier steps get their required ones."""
    definitions: list[str] = []
    variables: dict[str, Any] = {}

    def call(parent: GraphQLObjectType, name: str, last: bool) -> str:
        field_def: GraphQLField = parent.fields[name]
        parts: list[str] = []
        for arg_name, argument in field_def.args.items():
            if last:
                send, null = values.include(argument.type, (arg_name,))
            else:
                send, null = (isinstance(argument.type, GraphQLNonNull), False)
            if not send:
                continue
            variable = f"v{len(definitions)}"
            definitions.append(f"${variable}: {argument.type}")
            variables[variable] = None if null else values.value(argument.type, (arg_name,))
            parts.append(f"{arg_name}: ${variable}")
        return name + (f"({', '.join(parts)})" if parts else "")

    last_parent, last_name = steps[-1]
    body = f"{call(last_parent, last_name, True)} {selection(schema, last_parent.fields[last_name].type, depth)}"
    for index in range(len(steps) - 2, -1, -1):
        parent, name = steps[index]
        body = f"{call(parent, name, False)} {{ ... on {steps[index + 1][0].name} {{ {body} }} }}"
    root = steps[0][0]
    kind = {schema.mutation_type: "mutation", schema.subscription_type: "subscription"}.get(root, "query")
    signature = f"({', '.join(definitions)})" if definitions else ""
    return Operation(f"{last_parent.name}.{last_name}", f"{kind} Fuzz{signature} {{ {body} }}", variables)


def chain_to(schema: GraphQLSchema, owner: GraphQLObjectType, field_name: str) -> list[Step] | None:
    """Steps from a root to `owner.field_name` (shortest), or None if no root reaches it."""
    if owner is schema.subscription_type:
        return [(owner, field_name)]
    reach = _reach(schema)
    if owner.name not in reach:
        return None
    return [(parent, name) for parent, name, _ in reach[owner.name]] + [(owner, field_name)]


def returns_of(parent: GraphQLObjectType, name: str) -> str:
    return get_named_type(parent.fields[name].type).name


# ---------------------------------------------------------------- exact bounds

@dataclass
class BoundaryCase:
    coordinate: str
    path: Path
    kind: str  # "characters" or "entries"
    limit: int
    steps: list[Step]


def _input_sites(schema: GraphQLSchema) -> dict[str, tuple[list[Step], Path]]:
    """For each input object type, one argument that carries it (roots first), and the path
    from that argument down to it."""
    found: dict[str, tuple[list[Step], Path]] = {}
    reach = _reach(schema)
    owners = sorted((schema.type_map[name] for name in reach), key=lambda t: len(reach[t.name]))

    def descend(type_: Any, path: Path, steps: list[Step], seen: set[str]) -> None:
        named = get_named_type(type_)
        if not isinstance(named, GraphQLInputObjectType) or named.name in seen:
            return
        found.setdefault(named.name, (steps, path))
        for key, input_field in named.fields.items():
            descend(input_field.type, (*path, key), steps, seen | {named.name})

    for owner in owners:
        assert isinstance(owner, GraphQLObjectType)
        for name, field_def in owner.fields.items():
            steps = chain_to(schema, owner, name)
            if steps is None:
                continue
            for arg_name, argument in field_def.args.items():
                descend(argument.type, (arg_name,), steps, set())
    return found


def boundary_cases(schema: GraphQLSchema) -> tuple[list[BoundaryCase], list[str]]:
    """One case per bound of every bounded argument and input field in the live limits table
    (characters, and entries for lists), and the coordinates no operation reaches."""
    inputs = _input_sites(schema)
    cases: list[BoundaryCase] = []
    skipped: list[str] = []
    for coordinate, _holder, bound, is_list, is_text in bounds_table(schema):
        match = re.fullmatch(r"(\w+)\.(\w+)\((\w+):\)", coordinate)
        if match:
            owner = schema.type_map[match[1]]
            steps = chain_to(schema, owner, match[2]) if isinstance(owner, GraphQLObjectType) else None
            path: Path = (match[3],)
        else:
            type_name, key = coordinate.split(".")
            site = inputs.get(type_name)
            steps, path = (site[0], (*site[1], key)) if site else (None, ())
        if steps is None:
            skipped.append(coordinate)
            continue
        if is_text:
            cases.append(BoundaryCase(coordinate, path, "characters", bound.max_chars, steps))
        if is_list:
            cases.append(BoundaryCase(coordinate, path, "entries", bound.max_items, steps))
    return cases, skipped


def text_of_length(name: str, type_: GraphQLNamedType, length: int, values: Values) -> str:
    """Text of exactly `length` characters that the field's own rules might still accept:
    the ID of a real object spelt with leading zeros, a URL, or digits."""
    if type_.name == "ID":
        padded = padded_global_id(values.scalar(type_, name), length)
        if padded is not None:
            return padded
    if is_link(name) and length > 20:
        return "https://example.cn/" + "a" * (length - 19)
    return ("1234567890" * (length // 10 + 1))[:length]


def boundary_value(case: BoundaryCase, length: int, values: Values) -> Callable[[GraphQLInputType], Any]:
    name = case.path[-1]

    def make(type_: GraphQLInputType) -> Any:
        type_ = _unwrap(type_)
        if case.kind == "characters":
            if isinstance(type_, GraphQLList):
                return [make(type_.of_type)]
            return text_of_length(name, get_named_type(type_), length, values)
        assert isinstance(type_, GraphQLList)
        item_type = _unwrap(type_.of_type)
        if isinstance(item_type, GraphQLScalarType) and item_type.name == "String":
            if is_link(name):
                return [f"https://example.cn/{index}.png" for index in range(length)]
            return [f"{name[:4]}{index}" for index in range(length)]
        plain = replace(values, overrides={})  # the items themselves are ordinary
        return [plain.value(item_type, case.path) for _ in range(length)]

    return make


def bound_problem(case: BoundaryCase, length: int, errors: list[dict[str, Any]]) -> str | None:
    """At the limit the boundary must let the value through and no resolver may refuse it as
    too long (the declared limit would be a lie); one past it, the boundary must refuse it with
    BAD_USER_INPUT naming the argument, before execution."""
    refusals = [error for error in errors if (error.get("extensions") or {}).get("code") == "BAD_USER_INPUT"
                and str((error.get("extensions") or {}).get("field", "")).endswith(case.path[-1])]
    if length == case.limit:
        for error in refusals:
            stricter = re.search(r"at most ([\d,]+) " + case.kind, error.get("message", ""))
            if stricter and int(stricter[1].replace(",", "")) < case.limit:
                return f"declared ≤ {case.limit} {case.kind}, but a resolver refuses it: {error['message']}"
            if not error.get("path") and f"at most {case.limit:,}" in error.get("message", ""):
                return f"the boundary refused exactly {case.limit} {case.kind}: {error['message']}"
    else:
        named = [error for error in refusals
                 if not error.get("path") and f"at most {case.limit:,}" in error.get("message", "")]
        if not named:
            return f"{length} {case.kind} (limit {case.limit}) was not refused by the boundary: {errors[:1]}"
    return None


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def run_stateful(schema: GraphQLSchema, send: Send, roles: list[str], pools: Pools, report: FuzzReport, *,
                 rounds: int, seed: int) -> None:
    """Every query once as the last (most privileged) role to fill the pools, then `rounds`
    passes over every root field in a shuffled order, the roles taking turns so that as many
    rounds as roles call every field as every role; every ID argument is drawn from the pool
    of its type, and each answer's IDs feed the pools of later calls."""
    assert schema.query_type is not None and schema.mutation_type is not None
    rng = random.Random(seed)
    queries = [(schema.query_type, name) for name in schema.query_type.fields]
    roots = queries + [(schema.mutation_type, name) for name in schema.mutation_type.fields]
    turns = {step: index for index, step in enumerate(roots)}
    passes: list[tuple[list[Step], str]] = [([step], roles[-1]) for step in queries]
    for round_number in range(rounds):
        rng.shuffle(roots)
        passes += [([step], roles[(turns[step] + round_number) % len(roles)]) for step in roots]
    # An operation that ends the caller's account goes last: sent early, it would leave that
    # role signed out for the rest of the phase, measuring only the lock-out.
    passes.sort(key=lambda turn: ends_account(turn[0][-1][0].fields[turn[0][-1][1]]))
    for steps, role in passes:
        parent, name = steps[-1]
        operation = build_operation(schema, steps, Values(pools, rng, name, returns_of(parent, name)))
        response = send_and_check(schema, f"stateful {operation.label}", operation.query, operation.variables,
                                  role, send, report)
        body = _body(response)
        pools.harvest(body.get("data"))
        pools.learn(name, body)


def ends_account(field_def: GraphQLField) -> bool:
    """Whether the field's own description says the caller can no longer sign in after it."""
    return "no longer sign in" in (field_def.description or "")


def _has_optional(type_: Any, seen: frozenset[str] = frozenset()) -> bool:
    if _is_optional(type_):
        return True
    named = get_named_type(type_)
    if not isinstance(named, GraphQLInputObjectType) or named.name in seen:
        return False
    return any(_has_optional(f.type, seen | {named.name}) for f in named.fields.values())


def run_optional(schema: GraphQLSchema, send: Send, role: str, pools: Pools,
                 reports: dict[str, FuzzReport], *, seed: int) -> None:
    """Every reachable field with an optional argument (or an optional input field), called
    with all of them left out ("omit") and with all of them null ("null"); required ones are
    plausible and pooled."""
    rng = random.Random(seed)
    for owner_name in sorted(_reach(schema)):
        owner = schema.type_map[owner_name]
        assert isinstance(owner, GraphQLObjectType)
        for name, field_def in owner.fields.items():
            if not any(_has_optional(argument.type) for argument in field_def.args.values()):
                continue
            steps = chain_to(schema, owner, name)
            assert steps is not None
            for policy, report in reports.items():
                values = Values(pools, rng, steps[0][1], returns_of(owner, name), optional=policy)
                operation = build_operation(schema, steps, values, depth=0)
                response = send_and_check(schema, f"optional {policy} {operation.label}", operation.query,
                                          operation.variables, role, send, report)
                pools.harvest(_body(response).get("data"))


Subscribe = Callable[[list[tuple[str, dict[str, Any]]], str], list[list[dict[str, Any]]]]
REFUSED_AT_ONCE = "subscription { __fuzzNoSuchField }"


def make_subscriber(ws_url: str, tokens: dict[str, str | None]) -> Subscribe:
    """Starts subscriptions on one graphql-transport-ws connection as a role and returns the
    errors each was refused with at once ([] for one that started). A document that cannot
    validate goes last: its refusal marks the point by which the others' would have arrived
    (without it, a run whose operations all start waits out the whole deadline)."""
    def subscribe(operations: list[tuple[str, dict[str, Any]]], role: str) -> list[list[dict[str, Any]]]:
        token = tokens[role]
        errors: dict[str, list[dict[str, Any]]] = {str(index): [] for index in range(len(operations))}
        with connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=10) as socket:
            socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token} if token else {}}))
            assert json.loads(socket.recv(timeout=10))["type"] == "connection_ack"
            marker = (REFUSED_AT_ONCE, {})
            for index, (query, variables) in enumerate([*operations, marker]):
                socket.send(json.dumps({"id": str(index), "type": "subscribe",
                                        "payload": {"query": query, "variables": variables}}, ensure_ascii=True))
            last, deadline = str(len(operations)), time.monotonic() + 10
            try:
                while time.monotonic() < deadline:
                    message = json.loads(socket.recv(timeout=deadline - time.monotonic()))
                    if message.get("type") == "error":
                        errors[message["id"]] = message["payload"]
                    elif message.get("type") == "next":
                        errors[message["id"]] = message["payload"].get("errors") or []
                    if message.get("id") == last and message.get("type") in ("error", "next"):
                        break
            except TimeoutError:
                pass  # bound_problem reports the missing refusal
        return [errors[str(index)] for index in range(len(operations))]

    return subscribe


def _tally(report: FuzzReport, label: str, operation: Operation, role: str, errors: list[dict[str, Any]]) -> None:
    """send_and_check's bookkeeping for an answer that came over a WebSocket."""
    report.operations += 1
    codes = [(error.get("extensions") or {}).get("code") for error in errors]
    report.passed += all(error.get("path") and code not in REFUSED_CODES for error, code in zip(errors, codes, strict=True))
    report.answered += not errors
    if any(code in (None, "INTERNAL") for code in codes):
        report.failures.append(f"{label} as {role}: {errors}\n  {operation.query}\n  {shown(operation.variables)}"[:3000])


def run_boundary(schema: GraphQLSchema, send: Send, subscribe: Subscribe, role: str, pools: Pools,
                 at_limit: FuzzReport, past_limit: FuzzReport | None, *, seed: int) -> list[str]:
    """For every bounded argument and input field, the operation with exactly the limit, then
    one past it (characters, and entries for lists; not when `past_limit` is None), everything
    else plausible; subscriptions over a WebSocket. Returns the coordinates no operation
    reaches."""
    rng = random.Random(seed)
    cases, skipped = boundary_cases(schema)
    lengths = [(0, at_limit)] + ([(1, past_limit)] if past_limit is not None else [])
    for case in cases:
        parent, name = case.steps[-1]
        runs = []
        for past, report in lengths:
            length = case.limit + past
            values = Values(pools, rng, case.steps[0][1], returns_of(parent, name), optional="omit")
            values.overrides[case.path] = boundary_value(case, length, values)
            runs.append((length, report, build_operation(schema, case.steps, values, depth=0)))
        if case.steps[0][0] is schema.subscription_type:
            answers = subscribe([(operation.query, operation.variables) for _, _, operation in runs], role)
        else:
            answers = []
            for length, report, operation in runs:
                label = f"boundary {case.coordinate} {length} {case.kind}"
                response = send_and_check(schema, label, operation.query, operation.variables, role, send, report)
                answers.append(_body(response).get("errors") or [])
        for (length, report, operation), errors in zip(runs, answers, strict=True):
            label = f"boundary {case.coordinate} {length} {case.kind}"
            if case.steps[0][0] is schema.subscription_type:
                _tally(report, label, operation, role, errors)
            problem = bound_problem(case, length, errors)
            if problem is not None:
                report.failures.append(f"{label} as {role}: {problem}\n  {operation.query}\n  "
                                       f"{shown(operation.variables)}"[:3000])
    return skipped
