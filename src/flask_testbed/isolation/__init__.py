"""Isolation strategies, one module each, behind :class:`~.base.Isolation`."""

from __future__ import annotations

from typing import Any

from .base import Isolation
from .cleanup import RecreateIsolation, TruncateIsolation
from .transaction import IsolationBroken, TransactionIsolation

_CLASSES = {
    "transaction": TransactionIsolation,
    "truncate": TruncateIsolation,
    "recreate": RecreateIsolation,
}


def make_isolation(name: str, db: Any) -> Isolation:
    return _CLASSES[name](db)


__all__ = ["Isolation", "IsolationBroken", "make_isolation"]
