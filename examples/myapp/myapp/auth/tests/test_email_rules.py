"""Which emails an account can have, and their canonical form (unit tests: no app).

Registration stores the canonical form and login looks it up the same way,
so ``User1@Example.com`` and ``user1@example.com`` are one account.
"""

import pytest

from myapp.auth.routes import normalize_email


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("user1@example.com", "user1@example.com"),
        ("  New.User@Example.COM ", "new.user@example.com"),
        ("first+tag@mail.example.org", "first+tag@mail.example.org"),
    ],
)
def test_valid_emails_are_trimmed_and_lower_cased(typed: str, stored: str) -> None:
    assert normalize_email(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        None,
        42,
        "",
        "not-an-email",
        "@example.com",
        "someone@localhost",
        "someone@.com.",
        "a b@example.com",
        "two@at@example.com",
        "x@example.com" + "m" * 250,
    ],
    ids=repr,
)
def test_anything_else_is_no_email(typed: object) -> None:
    assert normalize_email(typed) is None
