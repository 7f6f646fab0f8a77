"""Passwords in database URLs: never printed, not even a piece of one.

A password is never printed, and that needs more than masking what SQLAlchemy
parsed: ``make_url`` reads ``user:pa@ss@host/db`` as the password ``pa`` on
the host ``ss``, so a masked URL, and the driver's "cannot resolve host" error,
would show the rest of the password. So the text of every URL the run uses is
judged before anything parses it, and free text the plugin prints has the
credentials of any URL in it masked.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine import url as sqlalchemy_url

from .. import fastpaths
from ..errors import TestbedError

#: what the explicit URL is called in messages: any of the three places it comes from
EXPLICIT = "testbed_database_url (--testbed-db-url / TESTBED_DATABASE_URL)"

# A URL's reserved characters, by the name the error gives them. "?" is not
# among them: the rule ends the user info at the first "?", where the query begins.
_RESERVED = {"@": "'@' (at sign)", "/": "'/' (slash)", ":": "':' (colon)", "#": "'#' (hash)"}
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_FIX = (
    "percent-encode the password: @ as %40, : as %3A, / as %2F, % as %25, # as %23 "
    "(e.g. urllib.parse.quote(password, safe=''))"
)
# scheme://user:...@ in free text, greedy to the last "@" of its token: a password
# holding "@" is masked whole (what follows the last "@" is the host at worst).
_CREDENTIALS = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)([^\s:/@]*):\S*@")


def check_url_text(text: Any, subject: str) -> None:
    """Refuse a URL whose password holds a character it should have percent-encoded.

    ``subject`` names the URL in the message ("the URL of bind 'audit'"). Not
    a string (a URL object, None): nothing to judge, it was parsed already.
    """
    if not isinstance(text, str):
        return
    credentials = _credentials(text)
    if credentials is None:
        return
    problems = _unescaped(credentials[2])
    if problems:
        raise TestbedError(
            f"{subject} is malformed: its password holds {_listed(problems)} "
            f"({_shortened(credentials)}); {_FIX}"
        )


def check_config_urls(configured: Mapping[str | None, Any], explicit: str | None) -> None:
    """Judge every URL a run takes from its settings and the app's config.

    ``configured`` holds the app's URLs by bind key, the default one as None.
    Only the URLs it uses: the app's own default database does not matter when
    an explicit URL replaces it.
    """
    if explicit:
        check_url_text(explicit, EXPLICIT)
    else:
        check_url_text(configured.get(None), "the URL of the default database")
    for key, url in configured.items():
        if key is not None:
            check_url_text(url, f"the URL of bind {key!r}")


@contextlib.contextmanager
def checked_parsing() -> Iterator[None]:
    """While the app's own code runs, judge every URL text SQLAlchemy parses.

    A factory or module that calls ``create_engine(url)`` itself gets no error
    from SQLAlchemy for a password holding "@": it gets an engine on the wrong
    host, whose connection error shows part of the password. Every string
    ``create_engine`` and ``make_url`` take goes through ``_parse_url``, a
    private name of SQLAlchemy: where it is missing, nothing is wrapped, and
    such a URL is masked in the plugin's messages only (:func:`scrub`).
    """
    original = parse_hook() if fastpaths.enabled("sqlalchemy-url-check") else None
    if original is None:
        yield
        return

    def parse(name: str, *args: Any, **kwargs: Any) -> URL:
        check_url_text(name, "a URL the app passes to SQLAlchemy (create_engine, make_url)")
        return original(name, *args, **kwargs)

    sqlalchemy_url._parse_url = parse
    try:
        yield
    finally:
        sqlalchemy_url._parse_url = original


def parse_hook() -> Any | None:
    """SQLAlchemy's private ``_parse_url``, which every URL text goes through, or None."""
    original = getattr(sqlalchemy_url, "_parse_url", None)
    return original if callable(original) else None


def scrub(text: str, *known: str | URL | None) -> str:
    """``text`` with the credentials of any URL in it masked, and the passwords of ``known``.

    For messages the plugin prints but did not write: a driver's or the app's
    exception, which may quote a URL, or a password without its URL.
    """
    passwords: set[str] = set()
    for url in known:
        if isinstance(url, URL):
            passwords.add(url.password or "")
        elif isinstance(url, str):
            credentials = _credentials(url)
            if credentials is not None:
                passwords.add(credentials[2])
                with contextlib.suppress(Exception):
                    passwords.add(make_url(url).password or "")
    for password in sorted(passwords - {""}, key=len, reverse=True):
        text = text.replace(password, "***")
    return _CREDENTIALS.sub(r"\1\2:***@", text)


def _credentials(text: str) -> tuple[str, str, str] | None:
    """(scheme, user, password) as written in a URL's text; None without a password.

    The user info runs from after ``scheme://`` to the last "@" before the
    first "?" (a host name never holds "@"); the password is what follows its
    first ":". ``scheme:///...`` has no user info (SQLite's paths).
    """
    scheme, separator, rest = text.partition("://")
    if not separator or rest.startswith("/"):
        return None
    userinfo, at, _host = rest.partition("?")[0].rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not at or not colon:
        return None
    return scheme, user, password


def _unescaped(password: str) -> list[str]:
    found = [name for character, name in _RESERVED.items() if character in password]
    if _LONE_PERCENT.search(password):
        found.append("'%' (percent sign) not followed by two hex digits")
    return found


def _listed(problems: list[str]) -> str:
    first = ", ".join(problems[:-1])
    what = f"{first} and {problems[-1]}" if first else problems[0]
    return f"an unescaped {what}"


def _shortened(credentials: tuple[str, str, str]) -> str:
    # No host: with a "/" in the password, where the host begins is a guess.
    scheme, user, _password = credentials
    return f"{scheme}://{user}:***@..."


def malformed_text(text: str) -> str | None:
    """``scheme://user:***@...`` when the URL's password is malformed, else None."""
    credentials = _credentials(text)
    if credentials is not None and _unescaped(credentials[2]):
        return _shortened(credentials)
    return None
