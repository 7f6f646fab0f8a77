"""flask-testbed: fast, isolated, safe database tests for Flask + SQLAlchemy apps."""

from .errors import TestbedError
from .objects import detach

__all__ = ["TestbedError", "detach"]
__version__ = "0.1.0"
