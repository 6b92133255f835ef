"""Tortoise's migration runner, without its quadratic cost on a fresh database.

`Migration.apply` keeps a copy of the migration state from before each operation, because a
few operations (renames, removals, alterations) read the old models to write their SQL. A
copy renders every model class of the state again (`StateApps.clone`, which also builds
every model's filters and querysets), so a fresh database of ~80 models and ~110 operations
rendered about 9,000 model classes: 13 s of CPU on every first `make run`, on every new test
or cluster database. Most operations (create a model, add a field, an index, SQL) never look
at the old state.

`install()` makes `State.clone()` lazy: it copies the model descriptions (cheap dataclasses)
at once, which is what freezes the old state, and renders them into model classes only when
something reads `.apps`. What is rendered is exactly what the eager copy would have rendered,
from the same frozen descriptions, so the SQL written is the same (the migration tests apply
every migration to an empty database of each kind and compare the result with the models).

It also renders the state's model classes without query filters. Each operation still
re-renders the model it touches and every model related to it, transitively (with `Volunteer`
related to nearly everything, ~47 classes per operation), and building each class's filter
table (~25 lookups per field, `get_filters_for_field`) was a third of a fresh `migrate`'s CPU.
State models write DDL; they never filter a query (the migrations' data steps use SQL), and
the application's own models, rendered by `Tortoise.init`, keep their filters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import tortoise.models
from tortoise.migrations.schema_generator.state import ModelState, State
from tortoise.migrations.schema_generator.state_apps import StateApps

from db import schema_editors

_installed = False


class _LazyState(State):
    """A `State` whose model classes are rendered on first use of `.apps`."""

    def __init__(self, models: dict[tuple[str, str], Any], source: StateApps) -> None:
        # not the dataclass __init__: `apps` stays unset until __getattr__ renders it
        self.models = models
        self._source = source

    def __getattr__(self, name: str) -> Any:
        if name != "apps":
            raise AttributeError(name)
        apps = self._source.clone(model_states=self.models)
        self.apps = apps
        return apps


def _lazy_clone(self: State) -> State:
    # The source only lends its connections to the copy; the frozen descriptions are rendered.
    source = self.__dict__.get("apps") or self.__dict__["_source"]
    return _LazyState({key: model.clone() for key, model in self.models.items()}, source)


_rendering_state: ContextVar[bool] = ContextVar("rendering_state", default=False)
_filters_for_field = tortoise.models.get_filters_for_field


def _filters_unless_state(field_name: str, field: Any, source_field: str) -> Any:
    return {} if _rendering_state.get() else _filters_for_field(field_name, field, source_field)


@contextmanager
def _state_only() -> Iterator[None]:
    token = _rendering_state.set(True)
    try:
        yield
    finally:
        _rendering_state.reset(token)


def _without_filters(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _state_only():
            return method(*args, **kwargs)
    return wrapper


def install() -> None:
    """Idempotent; call before running or checking migrations. Also installs the schema editors
    that keep rows and indexes (db/schema_editors.py)."""
    global _installed
    schema_editors.install()
    if not _installed:
        State.clone = _lazy_clone  # type: ignore[method-assign]
        tortoise.models.get_filters_for_field = _filters_unless_state  # type: ignore[assignment]
        ModelState.render = _without_filters(ModelState.render)  # type: ignore[method-assign]
        StateApps._init_relations = _without_filters(StateApps._init_relations)  # type: ignore[method-assign]
        _installed = True
