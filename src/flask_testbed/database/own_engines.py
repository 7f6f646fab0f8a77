"""The plugin's own engines: they always connect for real.

While a run pins connections, every engine on a test database is routed to
its pinned connection. The plugin's own engines must not be: the leak check's
observer exists to see only what really committed, and marking a database
needs a connection outside the test's transaction.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Engine

_apart: weakref.WeakSet[Any] = weakref.WeakSet()


def keep_apart(engine: Engine) -> Engine:
    """Mark one of the plugin's own engines, and its pool, which its copies share.

    The engine too: ``dispose()`` gives it a new pool.
    """
    _apart.add(engine)
    _apart.add(engine.pool)
    return engine


def is_apart(engine: Engine) -> bool:
    return engine in _apart or engine.pool in _apart
