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
"""

from __future__ import annotations

from typing import Any

from tortoise.migrations.schema_generator.state import State
from tortoise.migrations.schema_generator.state_apps import StateApps

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


def install() -> None:
    """Idempotent; call before running or checking migrations."""
    global _installed
    if not _installed:
        State.clone = _lazy_clone  # type: ignore[method-assign]
        _installed = True
