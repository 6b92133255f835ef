"""What this process's fan-out writes cost, for the slot feeds to pace themselves by.

A shared group's watcher is consumed as soon as the group's stream has executed, before the
group writes the frame to every member, so a feed's own drain measure misses the write loop.
Without this figure a feed would flush again at once and back-to-back write loops would
starve the sign-ups that produce the changes (docs/activities.md has the measurements).
"""

from __future__ import annotations

import time
from collections import deque


class PublishCost:
    """How long this process's shared publish loops take (seconds).

    Per group, the median of its last three loops, so that one loop preempted on a loaded
    machine does not stretch the gap for the next second; the process's cost is the sum over
    its groups, since one change reaches every group watching the activity. A group's figure
    halves every second once it stops looping, and a group that ended drops out."""

    __slots__ = ("_groups",)

    def __init__(self) -> None:
        self._groups: dict[int, tuple[deque[float], float]] = {}

    def record(self, seconds: float, now: float, key: int = 0) -> None:
        entry = self._groups.get(key)
        if entry is None:
            entry = (deque(maxlen=3), now)
        entry[0].append(seconds)
        self._groups[key] = (entry[0], now)

    def forget(self, key: int) -> None:
        self._groups.pop(key, None)

    def seconds(self, now: float | None = None) -> float:
        if not self._groups:
            return 0.0
        now = time.monotonic() if now is None else now
        total = 0.0
        for loops, at in self._groups.values():
            ordered = sorted(loops)
            total += ordered[len(ordered) // 2] * 0.5 ** max(0.0, now - at)
        return total


publish_cost = PublishCost()
