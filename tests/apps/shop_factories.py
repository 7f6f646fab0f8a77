"""Factories for the shop app, written the way a user writes them."""

import factory
from shop import Item, Tag

from flask_testbed.factories import ModelFactory


class ItemFactory(ModelFactory):
    class Meta:
        model = Item

    name = factory.Sequence(lambda n: f"item-{n}")


class TagFactory(ModelFactory):
    class Meta:
        model = Tag

    class Params:
        # Tag has a foreign key but no relationship: the item is a parameter.
        item = factory.SubFactory(ItemFactory)

    item_id = factory.SelfAttribute("item.id")
    label = "new"
