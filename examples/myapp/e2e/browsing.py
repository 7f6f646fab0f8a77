"""What a person does on the pages, as the e2e tests say it: fill a form, submit it.

Selenium returns from a click before the next page has arrived; :func:`submit`
waits for it, so a test never reads the page it just left.

Selenium is imported only when a helper runs: without it, the tests that
import this module are still collected, and the ``browser`` fixture says
what is missing in one line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

WAIT_SECONDS = 10


def fill(form: WebElement, **fields: str) -> None:
    """Type into the form's fields by name, replacing what they held."""
    for name, value in fields.items():
        field = form.find_element("name", name)
        field.clear()
        field.send_keys(value)


def submit(browser: WebDriver, form: WebElement) -> None:
    """Click the form's submit button and wait for the page that answers it.

    The page being left is marked, and the wait is over when a loaded page
    without the mark is there. (Waiting for the old page's elements to go
    stale races with the navigation: Chromium's driver may answer that
    check with a bare error while the old document is being replaced.)
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.wait import WebDriverWait

    browser.execute_script("window.leavingForSubmit = true")
    form.find_element("css selector", "button[type=submit]").click()
    WebDriverWait(
        browser, WAIT_SECONDS, poll_frequency=0.05, ignored_exceptions=(WebDriverException,)
    ).until(
        lambda driver: driver.execute_script(
            "return !window.leavingForSubmit && document.readyState === 'complete'"
        ),
        "no new page after submitting the form",
    )


def listed_titles(browser: WebDriver) -> list[str]:
    """The titles on the notes page, top to bottom."""
    return [item.text for item in browser.find_elements("css selector", "#notes .note .title")]


def alert(browser: WebDriver) -> str:
    """The page's error message; empty when it shows none."""
    messages = browser.find_elements("css selector", "[role=alert]")
    return messages[0].text if messages else ""
