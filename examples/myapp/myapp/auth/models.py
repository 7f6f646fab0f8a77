"""Users and the refresh tokens issued to them."""

from datetime import datetime
from typing import Any, NoReturn

from flask import current_app
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db, utcnow


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # The database deletes a user's tokens with the user (ON DELETE CASCADE);
    # passive_deletes keeps the ORM from loading them only to delete them.
    refresh_tokens: Mapped[list["RefreshToken"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def password(self) -> NoReturn:
        raise AttributeError("the password is not stored; use check_password()")

    @password.setter
    def password(self, plaintext: str) -> None:
        # So that User(email=..., password="...") hashes, like set_password().
        self.set_password(plaintext)

    def set_password(self, plaintext: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(plaintext, method=method)

    def check_password(self, plaintext: str) -> bool:
        return check_password_hash(self.password_hash, plaintext)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "active": self.active}

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class RefreshToken(db.Model):
    """A refresh token handed out at login, by its ``jti``: logout revokes it."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    revoked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="refresh_tokens")

    def revoke(self) -> None:
        self.revoked = True
        self.revoked_at = utcnow()

    def __repr__(self) -> str:
        return f"<RefreshToken {self.jti} user={self.user_id} revoked={self.revoked}>"
