"""flask-testbed: fast, isolated, safe database tests for Flask + SQLAlchemy apps."""

from .errors import TestbedError
from .objects import detach
from .unsaved import UncommittedChangesError, UncommittedChangesWarning

__all__ = ["TestbedError", "UncommittedChangesError", "UncommittedChangesWarning", "detach"]
__version__ = "0.1.0"
