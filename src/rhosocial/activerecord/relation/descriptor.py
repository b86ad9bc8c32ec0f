"""The marker base of association descriptors, free of model imports.

``ActiveRecord`` lists :class:`RelationDescriptor` in pydantic's
``ignored_types`` so a declaration such as ``posts = has_many("Post")`` stays
a plain class attribute instead of being rejected as an unannotated field.
"""

from __future__ import annotations


class RelationDescriptor(property):
    """Base of every association declared on a model class.

    It derives from ``property`` because pydantic's ``__setattr__`` hands an
    assignment to a class attribute's ``__set__`` only for properties; that
    is what lets ``post.author = user`` reach the association.
    """

    name: str = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
