"""A module's ``client_module`` flow runs in the order its tests are written.

The tests of a flow build on each other (create, then update, then delete,
through one client and one database state), so they only mean something in
their written order. pytest-randomly, which many suites install, shuffles the
tests of each module before any other plugin sees them; the flow would then
fail at random. So once every plugin has placed the tests, the tests of each
flow are put back in their written order, in the places the flow's tests
hold: the modules' order and every other test stay where the shuffle put them.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest


def keep_written_order(items: list[pytest.Item], flows: Sequence[pytest.Item]) -> None:
    """Reorder, in place, each module's flow tests to their written order."""
    if len(flows) < 2:
        return
    by_module: dict[pytest.Node | None, list[pytest.Item]] = {}
    for item in flows:
        by_module.setdefault(item.getparent(pytest.Module), []).append(item)
    position = {id(item): index for index, item in enumerate(items)}
    for group in by_module.values():
        slots = sorted(position[id(item)] for item in group if id(item) in position)
        if len(slots) < 2:
            continue
        written = sorted((item for item in group if id(item) in position), key=_written_at)
        for slot, item in zip(slots, written, strict=True):
            items[slot] = item


def _written_at(item: pytest.Item) -> tuple[int, tuple[int, ...]]:
    """The test's line in its module, then its parameters' positions in their lists."""
    line = item.location[1] or 0
    callspec = getattr(item, "callspec", None)
    indices = tuple(getattr(callspec, "indices", {}).values()) if callspec is not None else ()
    return line, indices
