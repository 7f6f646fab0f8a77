"""pytest-xdist: build the schema once, on the controller, and clone it per worker.

Building a schema of a few hundred tables costs seconds (create_all, or every
migration); copying a built one costs a fraction of that (PostgreSQL
``CREATE DATABASE ... TEMPLATE``, MariaDB's replayed ``SHOW CREATE TABLE``, an
SQLite file copy). So the controller builds ``<test db>_template`` before the
workers start, and each worker clones it into its own ``<test db>_gw<N>``.
Without a configured app (``testbed_app``) the controller knows no schema, and
each worker builds its own.

xdist's default ``load`` distribution would also split a module's
``client_module`` flow across workers: its later tests would run without the
state the earlier ones made. Only the workers collect, so each writes down the
modules that hold flows before it reports its collection, and the controller's
scheduler keeps each of those modules on one worker, in order; every other
test is spread one by one, as ``load`` does.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from . import stash
from .claims import ClaimRequest
from .database.naming import TEMPLATE
from .errors import TestbedError
from .harness import Harness

#: key in a worker's workerinput: the controller built templates to clone
TEMPLATES_READY = "flask_testbed_templates"
#: key in a worker's workerinput: the slot of databases the controller claimed
SLOT = "flask_testbed_slot"
#: key in a worker's workerinput: where it writes down the modules holding flows
FLOWS_DIRECTORY = "flask_testbed_flows"
#: key in a worker's workeroutput: the error that stops the run (its one line)
RUN_ERROR = "flask_testbed_run_error"


def is_controller(config: pytest.Config) -> bool:
    """Whether this process is the xdist controller, which runs no tests."""
    return config.pluginmanager.has_plugin("dsession") and not is_worker(config)


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def database_role(config: pytest.Config) -> str | None:
    """The controller's databases are the templates; a worker names its own by its id."""
    return TEMPLATE if is_controller(config) else None


def database_slot(config: pytest.Config) -> int | None:
    """On a worker: the slot of databases its controller claimed (its names follow it)."""
    return getattr(config, "workerinput", {}).get(SLOT)


def claim_request(config: pytest.Config) -> ClaimRequest:
    """What this process asks of the servers: the settings, and its place under xdist."""
    settings = config.stash[stash.SETTINGS]
    return ClaimRequest(
        database_url=settings.database_url,
        allow_any=settings.allow_any_database,
        role=database_role(config),
        slot=database_slot(config),
        wait=settings.reuse_db,
        say=stash.announcer(config),
    )


def templates_ready(config: pytest.Config) -> bool:
    """On a worker: whether the controller built the templates to clone."""
    return bool(getattr(config, "workerinput", {}).get(TEMPLATES_READY))


def report_run_error(config: pytest.Config, message: str) -> None:
    """On a worker: hand the run's error to the controller, which ends the run with it."""
    config.workeroutput[RUN_ERROR] = message


def report_flows(config: pytest.Config, flows: list[pytest.Item]) -> None:
    """On a worker: write down the modules whose tests share a ``client_module`` flow."""
    directory = getattr(config, "workerinput", {}).get(FLOWS_DIRECTORY)
    if directory is None:
        return
    modules = sorted({item.nodeid.split("::", 1)[0] for item in flows})
    worker = config.workerinput["workerid"]
    Path(directory, f"{worker}.json").write_text(json.dumps(modules))


def _flow_scheduling(config: pytest.Config, log: Any, directory: Path) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class FlowScheduling(LoadScopeScheduling):
        """``load``, except that each module holding a flow goes to one worker whole."""

        _modules: set[str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._modules is None:
                # Called once every worker reported its collection: all files are written.
                self._modules = set()
                for report in directory.glob("*.json"):
                    self._modules.update(json.loads(report.read_text()))
            module = nodeid.split("::", 1)[0]
            return module if module in self._modules else nodeid

    return FlowScheduling(config, log)


class Controller:
    """The controller's part: xdist calls these hooks on the controller only."""

    def __init__(self, load: Callable[[pytest.Config], Harness | None]) -> None:
        self._load = load
        self._harness: Harness | None = None
        self._flows: Path | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_setupnodes(self, config: pytest.Config, specs: Any) -> None:
        # Called before any worker starts: no worker can clone a half-built template.
        harness = self._load(config)
        if harness is None:
            return
        try:
            harness.build_templates()
        except TestbedError as exc:
            raise pytest.UsageError(str(exc)) from None
        self._harness = harness

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if self._flows is None:
            return None  # the user chose a distribution: theirs
        return _flow_scheduling(config, log, self._flows)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[TEMPLATES_READY] = self._harness is not None
        if self._harness is not None:
            node.workerinput[SLOT] = self._harness.claimed_slot
        # `load` is what `-n` means without --dist; any other choice is the user's.
        if self._flows is None and node.config.getvalue("dist") == "load":
            self._flows = Path(tempfile.mkdtemp(prefix="flask-testbed-flows-"))
        if self._flows is not None:
            node.workerinput[FLOWS_DIRECTORY] = str(self._flows)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        message = getattr(node, "workeroutput", {}).get(RUN_ERROR)
        if message is not None:
            node.config.stash[stash.RUN_ERROR] = message

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._flows is not None:
            shutil.rmtree(self._flows, ignore_errors=True)
            self._flows = None
        if self._harness is not None:
            self._harness.finish_templates()
            self._harness = None
