"""Types that reference each other across schema modules.

The API is a graph (an activity has a team, a team lists its activities), but the modules
that define it load in one order, each importing only the ones before it:

    volunteer < team < honour < training < project < servicepoint < helprequest < activity
    < hours < timebank < forum.schema < callout, offers, feed

A field whose type is defined in a later module names that type with strawberry.lazy
(`Annotated["Activity", strawberry.lazy("schema.activity")]`), which strawberry resolves when
the schema is assembled. `lazy_class` gives the same class to the field's resolver, which only
runs once the whole schema is loaded, so the resolver can build instances of it (its
`from_model`, or a constructor such as `Activity.of_team` that belongs with the type).
"""

from __future__ import annotations

import functools
from typing import Any, ForwardRef, get_args

from strawberry.types.lazy_type import LazyType, StrawberryLazyReference


def lazy_class(reference: Any) -> Any:
    """The class behind `Annotated["Name", strawberry.lazy("module")]`."""
    name, *metadata = get_args(reference)
    lazy = next(item for item in metadata if isinstance(item, StrawberryLazyReference))
    type_name = name.__forward_arg__ if isinstance(name, ForwardRef) else str(name)
    return _resolve(type_name, lazy.module)


@functools.cache
def _resolve(type_name: str, module: str) -> Any:
    return LazyType(type_name, module).resolve_type()
