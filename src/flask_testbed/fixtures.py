"""The public fixtures, and the autouse ones that put each scope in its sandbox.

Names and scopes follow the two conventions Flask suites already use:
pytest-flask's (``app``, ``client``, ``runner``) and the feature framework's
(``test_app``, ``test_client``, ``test_client_module``, ``clean_database``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session, scoped_session

from . import parallel, stash, wider
from .client import make_client
from .errors import TestbedError, one_line, reported
from .harness import Harness

if TYPE_CHECKING:
    # pytest exports no name for the base of Item and Collector.
    from _pytest.nodes import Node


def _usage_exit(config: pytest.Config, exc: TestbedError) -> NoReturn:
    """Stop the run before its first database test: one ``ERROR:`` line, exit status 4."""
    if parallel.is_worker(config):
        # An Exit inside a worker's test crashes xdist's controller (INTERNALERROR):
        # the test errors with the line, and the controller ends the run with it.
        parallel.report_run_error(config, str(exc))
        pytest.fail(str(exc), pytrace=False)
    config.stash[stash.RUN_ERROR] = str(exc)
    pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)


#: for the hooks that stop the run the same way
usage_exit = _usage_exit


def _finish(config: pytest.Config, harness: Harness) -> None:
    """End the run: what its own cleanup cannot do is the run's error, not its last test's."""
    if parallel.is_worker(config):
        with reported():  # only a test's report goes back to the xdist controller
            harness.finish()
        return
    try:
        harness.finish()
    except TestbedError as exc:
        config.stash[stash.RUN_ERROR] = str(exc)
    except Exception as exc:  # a driver's error: still the run's, never its last test's
        error = getattr(exc, "orig", None) or exc
        config.stash[stash.RUN_ERROR] = (
            f"the run's cleanup after its last test failed ({type(error).__name__}: "
            f"{one_line(error)}); its test databases may keep tables of this run, which the "
            "next run drops before its first test"
        )


@pytest.fixture(scope="session")
def app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The configured app in testing mode, with its schema created once for the run.

    An app context stays pushed for the run (for session-, module- and
    class-scoped fixtures); each database test and each request runs in an
    app context of its own.
    Override this fixture in ``conftest.py`` to build the app yourself.
    """
    harness = request.config.stash.get(stash.HARNESS, None)
    if harness is None:
        _usage_exit(
            request.config,
            TestbedError(
                "no Flask app configured: set testbed_app = module:create_app in the pytest "
                "ini (or --testbed-app / TESTBED_APP), or define an `app` fixture in conftest.py"
            )
        )
    try:
        harness.start()
    except TestbedError as exc:
        _usage_exit(request.config, exc)
    yield harness.app
    _finish(request.config, harness)


@pytest.fixture(scope="session")
def test_app(app: Flask) -> Flask:
    """Alias of ``app``."""
    return app


@pytest.fixture(scope="session")
def _testbed(request: pytest.FixtureRequest, app: Flask) -> Iterator[Harness]:
    started = request.config.stash.get(stash.HARNESS, None)
    if started is not None and started.app is app:
        yield started  # started by the `app` fixture above
        return
    # The user's own `app` fixture: the harness is ours to run.
    try:
        harness = Harness(
            app, request.config.stash[stash.SETTINGS], parallel.claim_request(request.config)
        )
        harness.start()
    except TestbedError as exc:
        _usage_exit(request.config, exc)
    request.config.stash[stash.HARNESS] = harness
    yield harness
    _finish(request.config, harness)


@pytest.fixture(scope="session")
def db(_testbed: Harness) -> Any:
    """The app's extension, bound to the test database.

    Flask-SQLAlchemy's or Flask-SQLAlchemy-Lite's ``SQLAlchemy``; for a plain
    SQLAlchemy app, what it has instead (its engines, session and metadata).
    Typed ``Any`` because it is one of three types: annotate the test's
    parameter with the one the app uses.
    """
    return _testbed.integration.extension


@pytest.fixture
def db_session(_testbed: Harness) -> Session | scoped_session[Session]:
    """``db.session``: the session the test and its fixtures share (requests have their own)."""
    with reported():  # a plain app without testbed_session: its one line, no traceback
        return _testbed.integration.session()


@pytest.fixture
def session(db_session: scoped_session[Session]) -> scoped_session[Session]:
    """Alias of ``db_session``."""
    return db_session


@pytest.fixture
def client(app: Flask, _testbed: Harness) -> FlaskClient:
    """A test client; the test starts from a clean database.

    Not entered: each request runs in an app context of its own, as in
    production; ``with client:`` keeps the last request's context for inspection.
    """
    return make_client(app)


@pytest.fixture
def test_client(client: FlaskClient) -> FlaskClient:
    """Alias of ``client``."""
    return client


@pytest.fixture(scope="module")
def client_module(app: Flask, _testbed: Harness) -> FlaskClient:
    """One client (one cookie jar) and one database state for the tests of a module."""
    return make_client(app)


@pytest.fixture(scope="module")
def test_client_module(client_module: FlaskClient) -> FlaskClient:
    """Alias of ``client_module``."""
    return client_module


@pytest.fixture
def clean_database(_testbed: Harness) -> None:
    """Empty every table now: a selective reset inside a module-scoped flow."""
    _testbed.empty()


@pytest.fixture
def runner(app: Flask, _testbed: Harness) -> FlaskCliRunner:
    """The app's CLI runner, inside the test's isolation."""
    return app.test_cli_runner()


@pytest.fixture
def assert_num_queries(
    _testbed: Harness,
) -> Callable[[int], AbstractContextManager[list[str]]]:
    """``with assert_num_queries(3): ...`` fails unless the app ran exactly 3 statements.

    Counts the statements of the app's engines only, not the plugin's own
    savepoints, and lists them when the count is wrong.
    """
    return functools.partial(_testbed.queries.expect, exact=True)


@pytest.fixture
def assert_max_queries(
    _testbed: Harness,
) -> Callable[[int], AbstractContextManager[list[str]]]:
    """``with assert_max_queries(3): ...`` fails if the app ran more than 3 statements."""
    return functools.partial(_testbed.queries.expect, exact=False)


def _enter_scope(request: pytest.FixtureRequest, node: Node) -> Iterator[None]:
    strategy = node.stash.get(stash.STRATEGY, None)
    if strategy is None:
        yield
        return
    harness: Harness = request.getfixturevalue("_testbed")
    config = request.config
    if stash.RUN_ORDER not in config.stash:
        # Built once, at the first module: by now every hook that deselects or
        # reorders tests (-k, --deselect, --lf, pytest-randomly) has run.
        config.stash[stash.RUN_ORDER] = wider.RunOrder.of(request.session.items)
    names = wider.ahead(config.stash[stash.RUN_ORDER], node, config.stash.get(stash.CURRENT, None))
    if names:
        # For later tests of the module: allowed even if this test uses no database.
        with harness.blocker.allowed():
            for name in names:
                request.getfixturevalue(name)
    with reported():
        token = harness.enter_scope(strategy)
    yield from _inside(config, wider.scope_rank(node), harness, token, node.nodeid)


def _inside(
    config: pytest.Config,
    rank: int,
    harness: Harness,
    token: Any,
    nodeid: str,
    reset: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold a scope open; at its end, wider fixtures set up inside go before its rollback."""
    scopes = config.stash[stash.OPEN_SCOPES]
    scope = wider.OpenScope(rank)
    scopes.append(scope)
    yield
    scopes.pop()
    try:
        if reset is not None:
            reset()
        if scope.inside:
            with harness.blocker.allowed():
                wider.tear_down_inside(scope, nodeid)
    finally:
        with reported():
            harness.leave(token, nodeid)


@pytest.fixture(scope="module", autouse=True)
def _testbed_module_scope(request: pytest.FixtureRequest) -> Iterator[None]:
    yield from _enter_scope(request, request.node)


@pytest.fixture(scope="class", autouse=True)
def _testbed_class_scope(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.cls is None:
        yield
        return
    yield from _enter_scope(request, request.node)


@pytest.fixture(autouse=True)
def _testbed_test_scope(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the database runs in a scope of its own."""
    plan = request.node.stash.get(stash.PLAN, None)
    if plan is None:
        yield
        return
    harness: Harness = request.getfixturevalue("_testbed")
    with reported():
        token = harness.enter_test(plan)
    yield from _inside(
        request.config,
        wider.RANK["function"],
        harness,
        token,
        request.node.nodeid,
        # In the test's app context still, before its rollback.
        reset=lambda: request.config.stash[stash.RESETS].after_test(harness.app),
    )
