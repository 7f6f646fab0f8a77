"""flask-testbed: fast, isolated, safe database tests for Flask + SQLAlchemy apps."""

from .errors import TestbedError

__all__ = ["TestbedError"]
__version__ = "0.1.0"
