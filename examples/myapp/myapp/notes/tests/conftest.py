"""Notes' own test data: a note of the logged-in user, and one of somebody else."""

import pytest

from myapp.notes.tests.factories import NoteFactory


@pytest.fixture
def sample_note(logged_in_client, auth_test_user):
    return NoteFactory(owner=auth_test_user, title="Groceries", body="milk, eggs")


@pytest.fixture
def strangers_note(test_app):
    """A note of another user (the factory makes one)."""
    return NoteFactory(title="Not yours", body="private")
