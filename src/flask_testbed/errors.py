"""The one exception the plugin raises at users.

Every message is a single line that says what is wrong, where, and how to fix
it, so that pytest can print it as a usage error without a traceback of the
plugin's internals.
"""


class TestbedError(Exception):
    """A configuration or safety problem the user has to fix."""

    __test__ = False  # not a test class, despite the name
