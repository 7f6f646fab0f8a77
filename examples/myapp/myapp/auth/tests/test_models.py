"""The auth models on their own: password hashing, unique emails, cascading deletes."""

import pytest
from flask import Flask
from flask_sqlalchemy.session import Session
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import scoped_session

from myapp.auth.tests.factories import UserFactory
from myapp.models import RefreshToken, User


def test_password_is_stored_hashed_and_checked(test_app: Flask) -> None:
    user = User(email="hash@example.com", password="s3cret-enough")

    assert "s3cret-enough" not in user.password_hash
    assert user.password_hash.startswith("pbkdf2:sha256:")  # TestConfig's cheap method
    assert user.check_password("s3cret-enough")
    assert not user.check_password("s3cret-enougH")


def test_password_cannot_be_read_back(test_app: Flask) -> None:
    with pytest.raises(AttributeError, match="not stored"):
        User(email="x@example.com", password="whatever1").password  # noqa: B018


def test_email_is_unique_in_the_database(db_session: scoped_session[Session], user: User) -> None:
    db_session.add(User(email=user.email, password="another password"))
    with pytest.raises(IntegrityError):
        db_session.commit()
    db_session.rollback()

    # The rollback undid only the failed insert: the first user is still there.
    assert db_session.scalar(select(func.count()).select_from(User)) == 1


def test_revoke_marks_the_token_and_records_when(
    db_session: scoped_session[Session], user: User
) -> None:
    token = RefreshToken(jti="0" * 36, user=user)
    db_session.add(token)
    db_session.commit()
    assert token.revoked is False and token.revoked_at is None

    token.revoke()
    db_session.commit()

    db_session.refresh(token)
    assert token.revoked is True
    assert token.revoked_at is not None


def test_deleting_a_user_in_sql_deletes_their_tokens(db_session: scoped_session[Session]) -> None:
    """ON DELETE CASCADE, on every backend (SQLite too: the app turns foreign keys on)."""
    doomed, kept = UserFactory.create(), UserFactory.create()
    for index, owner in enumerate([doomed, doomed, kept]):
        db_session.add(RefreshToken(jti=f"{index:036d}", user=owner))
    db_session.commit()

    # Plain SQL, no ORM cascade: only the database can remove the tokens.
    db_session.execute(delete(User).where(User.id == doomed.id))
    db_session.commit()

    owners = db_session.scalars(select(RefreshToken.user_id)).all()
    assert owners == [kept.id]
