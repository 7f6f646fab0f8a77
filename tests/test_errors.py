"""Bad input: one line that says what to fix, usage-error exit, no internals, no password."""

import urllib.parse

import pytest
import sqlalchemy as sa
from conftest import SERVER_URLS, one_error_line, server_url

SIMPLE_TEST = "def test_uses_db(client):\n    assert client.get('/items').json == []\n"


@pytest.fixture
def sqlite_shop(pytester, tmp_path):
    from conftest import Shop

    return Shop(pytester, f"sqlite:///{tmp_path / 'shop-test.db'}", "sqlite://")


def test_app_module_that_does_not_import(sqlite_shop):
    line = one_error_line(sqlite_shop.run("--testbed-app=shopp:create_app", test_x=SIMPLE_TEST))
    assert "cannot import 'shopp'" in line
    assert "ModuleNotFoundError" in line


def test_app_attribute_that_does_not_exist(sqlite_shop):
    line = one_error_line(sqlite_shop.run("--testbed-app=shop:make_app", test_x=SIMPLE_TEST))
    assert "has no attribute 'make_app'" in line


def test_app_path_without_attribute(sqlite_shop):
    line = one_error_line(sqlite_shop.run("--testbed-app=shop", test_x=SIMPLE_TEST))
    assert "module:attr" in line


def test_factory_that_raises(sqlite_shop):
    line = one_error_line(sqlite_shop.run("--testbed-app-config=explode", test_x=SIMPLE_TEST))
    assert "the app factory shop:create_app raised RuntimeError: the factory exploded" in line


def test_unknown_strategy_option(sqlite_shop):
    line = one_error_line(sqlite_shop.run("--testbed-strategy=rollback", test_x=SIMPLE_TEST))
    assert "unknown isolation strategy 'rollback'" in line
    assert "transaction, truncate, recreate" in line


def test_unknown_strategy_in_marker(sqlite_shop):
    result = sqlite_shop.run(
        test_x="import pytest\n"
        "@pytest.mark.testbed(strategy='nuke')\n"
        "def test_uses_db(client):\n    pass\n"
    )
    line = one_error_line(result)
    assert "unknown isolation strategy 'nuke'" in line
    assert "test_x.py::test_uses_db" in line


def test_strategy_from_environment(sqlite_shop, monkeypatch):
    monkeypatch.setenv("TESTBED_STRATEGY", "bogus")
    line = one_error_line(sqlite_shop.run(test_x=SIMPLE_TEST))
    assert "'bogus'" in line


def test_option_beats_environment_beats_ini(sqlite_shop, monkeypatch):
    sqlite_shop.pytester.makeini(
        "[pytest]\ntestbed_app = shop:create_app\ntestbed_strategy = bogus-ini\n"
    )
    monkeypatch.setenv("TESTBED_STRATEGY", "bogus-env")
    assert "'bogus-env'" in one_error_line(sqlite_shop.run(test_x=SIMPLE_TEST))
    line = one_error_line(sqlite_shop.run("--testbed-strategy=bogus-opt", test_x=SIMPLE_TEST))
    assert "'bogus-opt'" in line


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_unreachable_server(sqlite_shop, backend):
    from sqlalchemy import make_url

    url = make_url(SERVER_URLS[backend]).set(port=1, password="s3cret-pw")
    sqlite_shop.database_url = url.render_as_string(hide_password=False)
    result = sqlite_shop.run(test_x=SIMPLE_TEST)
    line = one_error_line(result)
    assert "cannot connect to" in line
    assert ":***@" in line
    assert "s3cret-pw" not in result.stdout.str() + result.stderr.str()


def test_no_app_configured(pytester):
    pytester.makepyfile(test_x=SIMPLE_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "no Flask app configured" in output
    assert "testbed_app" in output


#: holds every character a URL reserves; the pieces between them must never be printed
PASSWORD = "Zq9x@Wk7v/Jm4:Pt2#Rb5%"
FRAGMENTS = ("Zq9x", "Wk7v", "Jm4", "Pt2", "Rb5")
#: a factory that makes an engine of its own from the environment and connects it
OWN_ENGINE = """
import os

import sqlalchemy

import shop


def create_app():
    engine = sqlalchemy.create_engine(os.environ["REPORTS_URL"])
    with engine.connect():
        pass
    return shop.create_app()
"""
#: where the URL comes from: what the error calls it
PLACES = {
    "option": "testbed_database_url (--testbed-db-url / TESTBED_DATABASE_URL) is malformed",
    "app config": "the URL of the default database is malformed",
    "bind": "the URL of bind 'audit' is malformed",
    "own engine": "a URL the app passes to SQLAlchemy (create_engine, make_url) is malformed",
}
RUNS = {"plain": (), "verbose": ("-v",), "xdist": ("-n", "2")}


def _with_password(backend, password):
    """The backend's test URL with ``password`` written into it as it is."""
    url = sa.make_url(SERVER_URLS[backend])
    return f"{url.drivername}://{url.username}:{password}@{url.host}:{url.port}/{url.database}"


def _place(shop, place, url):
    """Put ``url`` where ``place`` says; the command-line arguments that takes."""
    if place == "option":
        shop.database_url = url
    elif place == "app config":
        shop.database_url = None
        shop.env["SHOP_DATABASE_URL"] = url
    elif place == "bind":
        shop.env["SHOP_AUDIT_URL"] = url
    else:
        shop.pytester.makepyfile(reports=OWN_ENGINE)
        shop.env["REPORTS_URL"] = url
        return ("--testbed-app=reports:create_app",)
    return ()


def _run(shop, how, *args):
    if how == "xdist":  # workers are processes: so is the run
        return shop.run_subprocess(*args, *RUNS[how], test_x=SIMPLE_TEST)
    return shop.run(*args, *RUNS[how], test_x=SIMPLE_TEST)


def _no_fragment(result):
    output = result.stdout.str() + "\n" + result.stderr.str()
    for fragment in FRAGMENTS:
        assert fragment not in output, output


@pytest.mark.parametrize("how", RUNS)
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_password_with_reserved_characters_is_refused_unseen(sqlite_shop, backend, place, how):
    url = _with_password(backend, PASSWORD)
    result = _run(sqlite_shop, how, *_place(sqlite_shop, place, url))
    line = one_error_line(result)
    assert PLACES[place] in line
    assert "an unescaped '@' (at sign), '/' (slash), ':' (colon), '#' (hash)" in line
    assert "and '%' (percent sign) not followed by two hex digits (" in line
    assert f"({sa.make_url(url).drivername}://{sa.make_url(url).username}:***@...)" in line
    assert "percent-encode the password: @ as %40, : as %3A, / as %2F, % as %25, # as %23" in line
    assert "urllib.parse.quote(password, safe='')" in line
    _no_fragment(result)


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_percent_encoded_password_is_accepted(sqlite_shop, backend, place):
    server_url(backend)
    url = _with_password(backend, urllib.parse.quote(PASSWORD, safe=""))
    result = _run(sqlite_shop, "plain", *_place(sqlite_shop, place, url))
    if backend == "postgresql":  # trust: any password will do
        result.assert_outcomes(passed=1)
    else:  # root has none: the server refuses this one, in one line that does not show it
        line = one_error_line(result)
        assert "Access denied for user 'root'" in line
        if place == "own engine":
            assert "the app factory reports:create_app raised OperationalError" in line
        else:
            assert "cannot connect to mysql+pymysql://root:***@" in line
    _no_fragment(result)


def test_factory_error_that_quotes_a_url_shows_no_password(sqlite_shop):
    sqlite_shop.pytester.makepyfile(
        quoting="def create_app():\n"
        "    raise RuntimeError('no route to mysql://app:s3cret@pw@db.internal/shop, giving up')\n"
    )
    result = sqlite_shop.run("--testbed-app=quoting:create_app", test_x=SIMPLE_TEST)
    line = one_error_line(result)
    assert "raised RuntimeError: no route to mysql://app:***@db.internal/shop, giving up" in line
    assert "s3cret" not in result.stdout.str() + result.stderr.str()



@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_module_that_connects_as_it_is_imported_is_refused_unseen(sqlite_shop, backend):
    sqlite_shop.pytester.makepyfile(
        reports="import os\n\nimport sqlalchemy\n\nfrom shop import create_app\n\n"
        "engine = sqlalchemy.create_engine(os.environ['REPORTS_URL'])\n"
        "engine.connect().close()\n"
    )
    sqlite_shop.env["REPORTS_URL"] = _with_password(backend, PASSWORD)
    result = sqlite_shop.run("--testbed-app=reports:create_app", test_x=SIMPLE_TEST)
    assert PLACES["own engine"] in one_error_line(result)
    _no_fragment(result)


EXITS = """
import sys

import shop


def exits_3():
    sys.exit(3)


def raises_system_exit():
    raise SystemExit


def raises_keyboard_interrupt():
    raise KeyboardInterrupt


def returns_nothing():
    shop.create_app()
"""


@pytest.mark.parametrize("how", ["plain", "xdist"])
@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("exits:exits_3", "the app factory exits:exits_3 called sys.exit(3); a factory returns"),
        ("exits:raises_system_exit", "the app factory exits:raises_system_exit called sys.exit()"),
        (
            "exits:raises_keyboard_interrupt",
            "the app factory exits:raises_keyboard_interrupt raised KeyboardInterrupt",
        ),
        ("exits:returns_nothing", "returned NoneType, not a Flask app"),
        (
            "leaves:create_app",
            "importing 'leaves' for testbed_app = leaves:create_app called sys.exit(); "
            "a module must not exit when it is imported",
        ),
    ],
)
def test_app_that_exits_stops_the_run_in_one_line(sqlite_shop, target, expected, how):
    sqlite_shop.pytester.makepyfile(exits=EXITS, leaves="import sys\n\nsys.exit()\n")
    # In a process of its own: a KeyboardInterrupt that got through would stop this suite.
    result = sqlite_shop.run_subprocess(f"--testbed-app={target}", *RUNS[how], test_x=SIMPLE_TEST)
    assert expected in one_error_line(result)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_without_sqlalchemy_s_private_parser_nothing_is_wrapped(monkeypatch):
    """The fallback when SQLAlchemy renames ``_parse_url``: the app's URLs go unchecked."""
    import types

    from flask_testbed.database import secrets

    stand_in = types.SimpleNamespace()
    monkeypatch.setattr(secrets, "sqlalchemy_url", stand_in)
    with secrets.checked_parsing():
        assert vars(stand_in) == {}  # nothing was put in its place
