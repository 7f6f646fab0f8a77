"""The compatibility matrix: the project's suite on each supported Python with the
newest releases, and on the oldest Python with the oldest releases supported.

    nox -s tests          # every Python from 3.11 up this machine has, newest releases
    nox -s tests-3.12     # one of them
    nox -s oldest         # Python 3.11, the oldest releases ``pyproject.toml`` allows
    nox -s sqlalchemy20   # Python 3.11, the newest SQLAlchemy 2.0.x with everything else newest
    nox -s oldest -- tests/test_savepoints.py -q    # arguments after ``--`` go to pytest

A Python missing from the machine is skipped by nox (``--error-on-missing-interpreters``
makes that a failure). The ranges in ``pyproject.toml`` are the ones these sessions
proved: when a bound moves, ``OLDEST`` moves with it.
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2024.3.2"
nox.options.sessions = ["tests", "oldest", "sqlalchemy20"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.11", "3.12", "3.13"]

#: The lowest release of each dependency the suite passes with: the lower
#: bounds of ``pyproject.toml`` (and of the test group where the matrix names one).
OLDEST = [
    "sqlalchemy==2.0.31",  # Flask-SQLAlchemy-Lite 0.2.1 needs 2.0.31
    "flask==3.0.0",
    "werkzeug==3.0.0",
    "flask-sqlalchemy==3.1.0",
    "pytest==8.0.0",
    "psycopg[binary]==3.1.8",
    "pymysql==1.1.0",
    "factory_boy==3.3.1",  # 3.3.0 fails on sqlalchemy_session_factory alone
    "pytest-xdist==3.5.0",
    "pytest-factoryboy==2.8.1",
    "flask-migrate==4.1.0",
    "flask-sqlalchemy-lite==0.2.1",
]

#: Two workers, as ``make test`` runs the suite (skips listed with their reason), unless
#: arguments are given.
DEFAULT_PYTEST_ARGS = ["-n", "2", "-rfEs"]


def _install(session: nox.Session, *pins: str) -> None:
    # Dependency groups (PEP 735) need pip 25.1 or newer.
    session.install("--upgrade", "pip>=25.1")
    session.install("-e", ".", "--group", "test", *pins)
    # As ``make`` does: pytest-flask beside the environment, not in it; the one
    # test that loads it looks there (and skips without it).
    target = f"{session.virtualenv.location}/pytest-flask"
    session.install("--no-deps", "--upgrade", "--target", target, "pytest-flask>=1.3")


def _run_suite(session: nox.Session) -> None:
    session.run("python", "-m", "pip", "list", "--format=freeze", silent=False)
    # Server databases named after the session: sessions may run side by side.
    # ("tests-3.12" becomes "py3.12": a name with "test" in it looks like a test
    # database's, and the suite's stand-ins for development databases would too.)
    session.env["TESTBED_TEST_RUN_NAME"] = session.name.replace("tests-", "py")
    session.run("pytest", "--testbed-info")
    session.run("pytest", *(session.posargs or DEFAULT_PYTEST_ARGS))


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The suite with the newest release of every dependency."""
    _install(session, "--upgrade", "--upgrade-strategy", "eager")
    _run_suite(session)


@nox.session(python=PYTHONS[0])
def oldest(session: nox.Session) -> None:
    """The suite with the oldest release of every dependency the project supports."""
    _install(session, *OLDEST)
    _run_suite(session)


@nox.session(python=PYTHONS[0])
def sqlalchemy20(session: nox.Session) -> None:
    """The suite with the newest SQLAlchemy 2.0.x (the newest of everything else)."""
    _install(session, "--upgrade", "--upgrade-strategy", "eager", "sqlalchemy>=2.0,<2.1")
    _run_suite(session)
