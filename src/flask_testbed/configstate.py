"""``app.config`` as each test found it, nested values included.

A test that changes ``app.config["FEATURES"]["beta"]`` in place changes the
one dict every later test reads; a shallow copy of the config would keep that
change. The snapshot copies every dict, list, set and tuple inside the config
(other values are kept as they are: the same objects come back), once, and
keeps it while the config stays equal to it, so a test that changes nothing
costs two comparisons that run in C, not a deep copy.
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping
from typing import Any


class ConfigKeeper:
    """Remembers a config when a test begins and puts it back when the test ends."""

    def __init__(self, config: MutableMapping[str, Any]) -> None:
        self._config = config
        #: a private copy of the config at the test's start; never handed out
        self._snapshot: dict[str, Any] | None = None

    def remember(self) -> None:
        """The test begins: keep the config as it is now (reusing the last copy if equal)."""
        if self._snapshot is None or not _same(self._config, self._snapshot):
            self._snapshot = _copy_items(self._config)

    def restore(self) -> None:
        """The test ends: what it changed, at any depth, is back as it was."""
        if self._snapshot is None or _same(self._config, self._snapshot):
            return
        self._config.clear()
        # A copy again: the snapshot stays the test's start for the tests after it.
        self._config.update(_copy_items(self._snapshot))


def _copy_items(config: MutableMapping[str, Any]) -> dict[str, Any]:
    return {key: snapshot(value) for key, value in config.items()}


def _same(config: MutableMapping[str, Any], saved: dict[str, Any]) -> bool:
    # dict equality recurses through nested dicts and lists in C, and compares
    # each value by identity before ==: a value no test touched is never compared.
    return dict.__eq__(config, saved) is True


def snapshot(value: Any) -> Any:
    """A copy of every container in ``value`` that a test could change in place."""
    kind = type(value)
    if kind is dict:
        return {key: snapshot(item) for key, item in value.items()}
    if kind is list:
        return [snapshot(item) for item in value]
    if kind is tuple:
        return tuple(snapshot(item) for item in value)
    if kind is set:
        return set(value)
    if isinstance(value, dict):  # Config, OrderedDict, defaultdict...: their class stays
        duplicate = copy.copy(value)
        for key, item in value.items():
            duplicate[key] = snapshot(item)
        return duplicate
    if isinstance(value, list):
        duplicate = copy.copy(value)
        duplicate[:] = [snapshot(item) for item in value]
        return duplicate
    return value
