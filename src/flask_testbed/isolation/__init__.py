"""Isolation strategies, one module each, behind :class:`~.base.Isolation`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..database.inventory import Inventory
from .base import Isolation
from .cleanup import RecreateIsolation, TruncateIsolation
from .transaction import IsolationBroken, TransactionIsolation

_FACTORIES: dict[str, Callable[[Any, Inventory], Isolation]] = {
    "transaction": TransactionIsolation,
    "truncate": lambda integration, _inventory: TruncateIsolation(integration),
    "recreate": RecreateIsolation,
}


def make_isolation(
    name: str, integration: Any, inventory: Inventory | None = None
) -> Isolation:
    """The strategy ``name`` for the app's ``integration`` (:mod:`..integrations`).

    ``inventory`` tells ``recreate`` what it may drop.
    """
    return _FACTORIES[name](integration, inventory or Inventory())


__all__ = ["Isolation", "IsolationBroken", "make_isolation"]
