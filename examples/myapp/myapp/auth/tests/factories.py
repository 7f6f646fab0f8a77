"""Factories for the auth models: a valid, active user unless a test says otherwise."""

import factory
from flask_testbed.factories import ModelFactory

from myapp.models import User

#: The password every factory-made user has, so tests can log in as them.
PASSWORD = "correct horse battery staple"


class UserFactory(ModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = PASSWORD
    active = True
