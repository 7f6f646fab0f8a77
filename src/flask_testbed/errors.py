"""The one exception the plugin raises at users.

Every message is a single line that says what is wrong, where, and how to fix
it, so that pytest can print it as a usage error without a traceback of the
plugin's internals.
"""


import contextlib
from collections.abc import Iterator

import pytest


class TestbedError(Exception):
    """A configuration or safety problem the user has to fix."""

    __test__ = False  # not a test class, despite the name


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Turn a TestbedError at a test's edge into pytest's failure: its line, no traceback.

    The messages name the test and the fix; the plugin's frames would not help,
    nor would the same line again as the "during handling" of a chained error.
    """
    try:
        yield
    except TestbedError as exc:
        try:
            pytest.fail(str(exc), pytrace=False)
        except pytest.fail.Exception as failure:
            raise failure from None


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message: what goes into a one-line error."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
