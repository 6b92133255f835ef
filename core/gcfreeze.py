"""Python's cyclic garbage collector kept from pausing a server with many long-lived objects."""

from __future__ import annotations

import asyncio
import gc
import time


async def freeze_long_lived(freeze_seconds: float, full_seconds: float) -> None:
    """Keeps Python's cyclic GC from pausing the loop for seconds with many connections.

    Every WebSocket connection holds thousands of GC-tracked objects, and a full (gen-2)
    collection over all of them stops the event loop for as long as it scans them, often
    while connections are still arriving (docs/activities.md, "GC", has the measurements).
    Every `freeze_seconds` the young generations are collected and what survived is frozen
    (gc.freeze: moved out of the collected generations), so collections only scan what is
    new. Frozen objects are still freed by reference counting; only cyclic garbage among them
    waits for the full collection that runs every `full_seconds` (unfreeze, collect, freeze)."""
    last_full = time.monotonic()
    while True:
        await asyncio.sleep(freeze_seconds)
        if full_seconds and time.monotonic() - last_full >= full_seconds:
            gc.unfreeze()
            gc.collect()
            last_full = time.monotonic()
        else:
            gc.collect(1)
        gc.freeze()
