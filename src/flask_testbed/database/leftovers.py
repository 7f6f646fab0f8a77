"""What runs that were killed before their end left behind, and its removal.

A run drops the databases it made when it ends. One killed on the way (a
cancelled CI job, ``timeout``, SIGKILL) cannot; the next run that finds the
database under its own name takes it over (it carries the mark of a plugin
run). Other names, a second slot or an xdist worker's copy, may not come up
again for a long time: the next run removes those whose run is gone (their
run lock is free) and that a plugin run made (they carry its mark).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from sqlalchemy.engine import URL

from . import ownership
from .locks import LOCK_SUFFIX, RunLock
from .servers import database_exists, drop_database, on_server
from .urls import is_in_memory, sqlite_path


def sweep(base: URL, keep: Collection[URL]) -> list[URL]:
    """Drop what killed runs left beside ``base``; the databases dropped."""
    dropped = []
    for url in leftovers(base, keep):
        lock = RunLock(url)
        if not lock.try_acquire():
            continue  # a live run's
        try:
            # Listed a moment ago, it may be gone since: its run dropped it and
            # let go of its lock in between (a run drops only under its lock).
            if database_exists(url) and ownership.is_marked(url):
                drop_database(url)
                dropped.append(url)
        finally:
            lock.release()
    return dropped


def leftovers(base: URL, keep: Collection[URL]) -> list[URL]:
    """Databases named after ``base`` that other runs made: slots, templates, worker copies.

    ``<base>_2``, ``<base>_template``, ``<base>_gw0``, ``<base>_2_gw0``...: what
    runs killed before their end leave behind. Those in ``keep`` are this run's.
    """
    if is_in_memory(base):
        return []
    if base.get_backend_name() == "sqlite":
        prefix, path = sqlite_path(base)
        file = Path(path)
        pattern = re.compile(rf"{re.escape(file.stem)}_{_SIBLING}{re.escape(file.suffix)}")
        names = {
            candidate.name.removesuffix(LOCK_SUFFIX)
            for candidate in file.parent.glob(f"{file.stem}_*")
        }
        found = [
            base.set(database=prefix + str(file.with_name(name)))
            for name in sorted(names)
            if pattern.fullmatch(name)
        ]
    else:
        pattern = re.compile(rf"{re.escape(base.database or '')}_{_SIBLING}")
        admin, backend = on_server(base)
        try:
            with admin.connect() as connection:
                names = backend.database_names(connection)
        finally:
            admin.dispose()
        found = [base.set(database=name) for name in sorted(names) if pattern.fullmatch(name)]
    return [url for url in found if url not in keep]


#: what follows ``<base>_`` in the name of a slot, a template or a worker's copy
_SIBLING = r"(?:\d+|(?:\d+_)?(?:gw\d+|template))"
