"""The one exception the plugin raises at users.

Every message is a single line that says what is wrong, where, and how to fix
it, so that pytest can print it as a usage error without a traceback of the
plugin's internals.
"""


class TestbedError(Exception):
    """A configuration or safety problem the user has to fix."""

    __test__ = False  # not a test class, despite the name


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message: what goes into a one-line error."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
