"""A real browser for the end-to-end tests: headless Chromium, driven by Selenium.

Chromium and its driver come from the system's packages (Debian:
``apt-get install chromium chromium-driver``), Selenium from PyPI. Both paths
are given to Selenium, and Selenium Manager is told to stay offline, so a run
never downloads a browser or a driver. Without them each test is skipped
with one line naming what is missing; under ``CI=true`` it fails instead, so
that a CI machine that lost its browser cannot pass by skipping.

One Chromium serves the whole run (starting one costs a second or more); each
test gets it signed out, its cookies cleared, on a blank page.

When a test that used the browser fails, the page it was on is saved (a
screenshot and the HTML), next to pytest's report: in ``e2e-artifacts/``
beside the ``--junitxml`` file, or under the project's root directory without
one. The paths are printed with the failure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

INSTALL = "apt-get install chromium chromium-driver"
ARTIFACTS = "e2e-artifacts"
DRIVER = pytest.StashKey["WebDriver"]()


def unavailable(reason: str) -> NoReturn:
    """Skip, or fail under CI: a missing browser must not pass a CI run."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[WebDriver]:
    """One headless Chromium for the run, from the system's packages."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed: pip install selenium")
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        unavailable(f"{'chromium' if binary is None else 'chromedriver'} not found: {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    # --no-sandbox: Chromium's sandbox refuses to start as root or in most
    # containers; the browser only ever loads the app under test.
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    # No speculative connections: Chromium opens spare ones it may never send a
    # request on, and a server that serves one connection at a time (the live
    # server does) then waits on that silent one, until Chromium drops it a
    # minute later: a page that never comes, a run that hangs at its end.
    options.add_experimental_option("prefs", {"net.network_prediction_options": 2})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SE_OFFLINE", "true")  # whatever happens, Selenium Manager downloads nothing
        browser = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    browser.set_page_load_timeout(30)
    yield browser
    browser.quit()


@pytest.fixture
def browser(chromium: WebDriver, request: pytest.FixtureRequest) -> Iterator[WebDriver]:
    """The run's Chromium, signed out and on a blank page for this test."""
    request.node.stash[DRIVER] = chromium
    yield chromium
    chromium.get("about:blank")  # stops whatever the page was still loading
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    driver = item.stash.get(DRIVER, None)
    if driver is not None and report.failed and report.when in ("setup", "call"):
        report.sections.append(("e2e artifacts", save_page(driver, item)))
    return report


def save_page(driver: WebDriver, item: pytest.Item) -> str:
    """Save the browser's page for a failed test; what to print about it."""
    folder = artifacts_dir(item.config)
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "_", item.nodeid)[-150:]
    screenshot, html = folder / f"{stem}.png", folder / f"{stem}.html"
    try:
        url = driver.current_url
        driver.save_screenshot(str(screenshot))
        html.write_text(driver.page_source, encoding="utf-8")
    except Exception as exc:  # a crashed browser: say so, keep the test's own failure
        return f"could not save the page ({type(exc).__name__}: {exc})"
    return f"page: {url}\nscreenshot: {screenshot}\nhtml: {html}"


def artifacts_dir(config: pytest.Config) -> Path:
    """``e2e-artifacts/`` beside the --junitxml report, or under the root directory."""
    report = config.getoption("xmlpath", None)
    if report:
        path = Path(os.path.expandvars(os.path.expanduser(report)))
        return (config.invocation_params.dir / path).parent / ARTIFACTS
    return config.rootpath / ARTIFACTS
