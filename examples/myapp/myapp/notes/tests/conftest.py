"""Notes' own test data: a note of the logged-in user, and one of somebody else."""

import pytest
from flask import Flask
from flask.testing import FlaskClient

from myapp.models import Note, User
from myapp.notes.tests.factories import NoteFactory


@pytest.fixture
def sample_note(logged_in_client: FlaskClient, auth_test_user: User) -> Note:
    return NoteFactory.create(owner=auth_test_user, title="Groceries", body="milk, eggs")


@pytest.fixture
def strangers_note(test_app: Flask) -> Note:
    """A note of another user (the factory makes one)."""
    return NoteFactory.create(title="Not yours", body="private")
