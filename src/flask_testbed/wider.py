"""Fixtures of a wider scope than the savepoint that is open when pytest sets them up.

Isolation nests along pytest's scopes: the run's outer transaction, then a
savepoint per module, class and test. A session fixture's rows belong in the
outer transaction; pytest caches the fixture for the run. But pytest sets a
fixture up in the first test that needs it, and a module's savepoint is open
from its first test on: a session fixture first needed by a module's second
test (or set up again because its param changed) would write into the
module's savepoint, whose rollback at the module's end takes its rows while
pytest keeps handing out the cached objects. Two rules keep them together:

- When a module (or class) begins, the wider fixtures that the tests of it
  this run will execute, from the current one on, need and that take no param
  from the test are set up first, outside its savepoint. Tests that were
  deselected (``-k``, ``--deselect``, ``--lf``) are not in the run's items, so
  nothing is set up for them.
- A wider fixture that still sets up inside a savepoint (its param comes from
  the test, directly or ``indirect=True``, so only that test's own setup can
  give it) and that reaches the database is torn down just before that
  savepoint rolls back: pytest sets it up again for the next test that needs
  it, which, being that test's first step, happens outside any savepoint.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from . import fastpaths

#: pytest's scopes, widest first
RANK = {"session": 0, "package": 1, "module": 2, "class": 3, "function": 4}


@dataclass(eq=False)
class OpenScope:
    """A savepoint the plugin holds open for a module, class or test."""

    rank: int
    #: wider fixtures set up while this was the innermost scope and that ran statements
    inside: list[tuple[Any, pytest.FixtureRequest]] = field(default_factory=list)


@dataclass
class RunOrder:
    """Where each test the run executes stands, and the tests of each module and class."""

    position: dict[pytest.Item, int]
    members: dict[pytest.Node, list[pytest.Item]]

    @classmethod
    def of(cls, items: list[pytest.Item]) -> RunOrder:
        members: dict[pytest.Node, list[pytest.Item]] = {}
        for item in items:
            for parent_type in (pytest.Module, pytest.Class):
                parent = item.getparent(parent_type)
                if parent is not None:
                    members.setdefault(parent, []).append(item)
        return cls({item: index for index, item in enumerate(items)}, members)


def scope_rank(node: pytest.Node) -> int:
    """The rank of the scope a module's or a class's savepoint stands for."""
    return RANK["class"] if isinstance(node, pytest.Class) else RANK["module"]


def ahead(order: RunOrder, node: pytest.Node, current: pytest.Item | None) -> list[str]:
    """The wider fixtures that ``node``'s tests, from ``current`` on, need without a param."""
    rank = scope_rank(node)
    start = order.position.get(current, 0) if current is not None else 0
    wanted: dict[str, None] = {}
    for item in order.members.get(node, ()):
        if order.position[item] >= start:
            wanted.update(dict.fromkeys(_unparametrized_wider(item, rank)))
    return list(wanted)


def definitions_of(item: pytest.Item) -> Any:
    """The item's fixture definitions by name (pytest's private ``_fixtureinfo``), or None.

    Without them nothing is set up ahead: each wider fixture sets up in its
    test's own setup, and :func:`tear_down_inside` keeps its rows and its
    cache together.
    """
    if not fastpaths.enabled("pytest-fixture-definitions"):
        return None
    info = getattr(item, "_fixtureinfo", None)
    definitions = getattr(info, "name2fixturedefs", None)
    return definitions if isinstance(definitions, dict) else None


def _unparametrized_wider(item: pytest.Item, rank: int) -> Iterator[str]:
    """The item's fixtures wider than ``rank`` whose value does not depend on its params."""
    definitions = definitions_of(item)
    if definitions is None:
        return
    callspec = getattr(item, "callspec", None)
    params = set(callspec.params) if callspec is not None else set()
    for name in getattr(item, "fixturenames", ()):
        chain = definitions.get(name)
        if not chain or RANK.get(chain[-1].scope, rank) >= rank:
            continue
        if not _takes_param(name, definitions, params, set()):
            yield name


def _takes_param(name: str, definitions: Any, params: set[str], seen: set[str]) -> bool:
    """Whether the fixture, or one it depends on, is parametrized (by the test or itself)."""
    if name in params or name in seen:
        return name in params
    seen.add(name)
    chain = definitions.get(name)
    if not chain:
        return False
    if chain[-1].params:
        return True
    return any(_takes_param(arg, definitions, params, seen) for arg in chain[-1].argnames)


def has_wider(item: pytest.Item, ignore: frozenset[str]) -> bool:
    """Whether the item needs a fixture wider than a class, other than ``ignore`` and ours."""
    definitions = definitions_of(item)
    if definitions is None:
        return True  # cannot tell: watch
    for name in getattr(item, "fixturenames", ()):
        if name in ignore or name.startswith("_testbed"):
            continue
        chain = definitions.get(name)
        if chain and RANK.get(chain[-1].scope, RANK["function"]) < RANK["class"]:
            return True
    return False


def finisher_of(fixturedef: Any) -> Any:
    """pytest's way to tear a fixture down and drop its cached value, or None if it has none."""
    finish = getattr(fixturedef, "finish", None)
    return finish if callable(finish) else None


def tear_down_inside(scope: OpenScope, where: str) -> None:
    """Tear down the wider fixtures set up inside ``scope``, newest first, before its rollback.

    Their teardown still sees their rows; pytest then sets them up again
    wherever they are next needed. Where pytest offers no way to do that, the
    user is told which fixture hands out objects whose rows are gone.
    """
    errors: list[BaseException] = []
    while scope.inside:
        fixturedef, request = scope.inside.pop()
        finish = finisher_of(fixturedef)
        if finish is None:
            warnings.warn(
                pytest.PytestWarning(
                    f"{fixturedef.scope}-scoped fixture {fixturedef.argname!r} was set up "
                    f"inside {where} (its param comes from the test), so its rows are rolled "
                    f"back when {where} ends while pytest keeps it: make its first user the "
                    "first test of the module, or narrow its scope"
                ),
                stacklevel=1,
            )
            continue
        try:
            finish(request)
        except BaseException as exc:  # the user's teardown: reported after the rollback
            errors.append(exc)
    if errors:
        raise errors[0]
