"""Bad input: one line that says what to fix, usage-error exit, no internals, no password."""

import pytest
from conftest import SERVER_URLS

SIMPLE_TEST = "def test_uses_db(client):\n    assert client.get('/items').json == []\n"


def _one_error_line(result: pytest.RunResult) -> str:
    output = result.stdout.str() + "\n" + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "Traceback" not in output
    assert "flask_testbed/" not in output
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.fixture
def sqlite_shop(pytester, tmp_path):
    from conftest import Shop

    return Shop(pytester, f"sqlite:///{tmp_path / 'shop-test.db'}", "sqlite://")


def test_app_module_that_does_not_import(sqlite_shop):
    line = _one_error_line(sqlite_shop.run("--testbed-app=shopp:create_app", test_x=SIMPLE_TEST))
    assert "cannot import 'shopp'" in line
    assert "ModuleNotFoundError" in line


def test_app_attribute_that_does_not_exist(sqlite_shop):
    line = _one_error_line(sqlite_shop.run("--testbed-app=shop:make_app", test_x=SIMPLE_TEST))
    assert "has no attribute 'make_app'" in line


def test_app_path_without_attribute(sqlite_shop):
    line = _one_error_line(sqlite_shop.run("--testbed-app=shop", test_x=SIMPLE_TEST))
    assert "module:attr" in line


def test_factory_that_raises(sqlite_shop):
    line = _one_error_line(sqlite_shop.run("--testbed-app-config=explode", test_x=SIMPLE_TEST))
    assert "the app factory shop:create_app raised RuntimeError: the factory exploded" in line


def test_unknown_strategy_option(sqlite_shop):
    line = _one_error_line(sqlite_shop.run("--testbed-strategy=rollback", test_x=SIMPLE_TEST))
    assert "unknown isolation strategy 'rollback'" in line
    assert "transaction, truncate, recreate" in line


def test_unknown_strategy_in_marker(sqlite_shop):
    result = sqlite_shop.run(
        test_x="import pytest\n"
        "@pytest.mark.testbed(strategy='nuke')\n"
        "def test_uses_db(client):\n    pass\n"
    )
    line = _one_error_line(result)
    assert "unknown isolation strategy 'nuke'" in line
    assert "test_x.py::test_uses_db" in line


def test_strategy_from_environment(sqlite_shop, monkeypatch):
    monkeypatch.setenv("TESTBED_STRATEGY", "bogus")
    line = _one_error_line(sqlite_shop.run(test_x=SIMPLE_TEST))
    assert "'bogus'" in line


def test_option_beats_environment_beats_ini(sqlite_shop, monkeypatch):
    sqlite_shop.pytester.makeini(
        "[pytest]\ntestbed_app = shop:create_app\ntestbed_strategy = bogus-ini\n"
    )
    monkeypatch.setenv("TESTBED_STRATEGY", "bogus-env")
    assert "'bogus-env'" in _one_error_line(sqlite_shop.run(test_x=SIMPLE_TEST))
    line = _one_error_line(sqlite_shop.run("--testbed-strategy=bogus-opt", test_x=SIMPLE_TEST))
    assert "'bogus-opt'" in line


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_unreachable_server(sqlite_shop, backend):
    from sqlalchemy import make_url

    url = make_url(SERVER_URLS[backend]).set(port=1, password="s3cret-pw")
    sqlite_shop.database_url = url.render_as_string(hide_password=False)
    result = sqlite_shop.run(test_x=SIMPLE_TEST)
    line = _one_error_line(result)
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
