"""Configuration classes, chosen by name: ``create_app("config.TestConfig")``."""

import os
from datetime import timedelta


class Config:
    """Production settings: secrets and the database come from the environment."""

    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///myapp.db")
    JWT_SECRET_KEY = os.environ.get("JWT_SECRET_KEY")
    # Tokens travel in HttpOnly cookies; state-changing requests must echo the
    # CSRF cookie in the X-CSRF-TOKEN header; the pages' forms send it as the
    # csrf_token field instead.
    JWT_TOKEN_LOCATION = ("cookies",)
    JWT_COOKIE_SECURE = True
    JWT_COOKIE_CSRF_PROTECT = True
    JWT_CSRF_CHECK_FORM = True
    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=30)
    PASSWORD_HASH_METHOD = "scrypt"


class DevelopmentConfig(Config):
    DEBUG = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///myapp-dev.db")
    JWT_SECRET_KEY = os.environ.get("JWT_SECRET_KEY", "development-only-secret-of-32-bytes")
    JWT_COOKIE_SECURE = False  # the development server speaks plain HTTP


class TestConfig(Config):
    TESTING = True
    # In memory by default; `pytest --testbed-db-url=...` points it elsewhere.
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    JWT_SECRET_KEY = "test-only-secret-long-enough-for-hs256"
    JWT_COOKIE_SECURE = False
    # Tests send the token cookie alone, as a browser-less API client would;
    # test_login.py turns the protection back on to check it.
    JWT_COOKIE_CSRF_PROTECT = False
    # Tests hash many passwords: a cheap hash keeps the suite fast.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
