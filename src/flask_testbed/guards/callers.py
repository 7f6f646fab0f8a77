"""Who may use a pinned connection: not a forked child, not a thread that outlived its test.

One call before every statement on a pinned connection and every handout of
its driver connection; while no child was forked and no thread is marked, it
costs two truth tests (about 0.1 microsecond).
"""

from __future__ import annotations

from . import forks
from .threads import outliving, refuse_late_thread


def check_caller() -> None:
    """Raise a one-line error if the caller must not touch the run's pinned connection."""
    if forks.forked:
        forks.refuse_forked_child()
    if outliving:
        refuse_late_thread()
