"""Factories for notes: each note has an owner, made on demand."""

import factory
from flask_testbed.factories import ModelFactory

from myapp.auth.tests.factories import UserFactory
from myapp.models import Note


class NoteFactory(ModelFactory[Note]):
    class Meta:
        model = Note

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Note {n}")
    body = factory.Faker("sentence")
