"""Models on the backend: CRUD through ActiveRecord, query basics, transactions via models."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from rhosocial.activerecord import ActiveRecord, Field, RecordNotFound
from rhosocial.activerecord.backend import UniqueViolationError

from ..capability import requires


class KitAuthor(ActiveRecord):
    __tablename__ = "kit_authors"
    name: str = Field(max_length=80, unique=True)
    born: dt.date | None = None


class KitBook(ActiveRecord):
    __tablename__ = "kit_books"
    title: str = Field(max_length=120)
    author_id: int = Field(references="kit_authors.id")
    price: Decimal = Field(max_digits=10, decimal_places=2)
    code: uuid.UUID = Field(default_factory=uuid.uuid4)
    tags: dict = Field(default_factory=dict)
    in_print: bool = True


class TestModels:
    """Save, find, query and delete records through models bound to the backend."""

    @pytest.fixture
    def shelf(self, backend):
        for model in (KitAuthor, KitBook):
            model.configure(backend)
        KitAuthor.create_table()
        KitBook.create_table()
        yield backend
        for model in (KitAuthor, KitBook):
            type.__setattr__(model, "__backend__", None)

    def add(self, author: str, *books: tuple[str, str]) -> KitAuthor:
        person = KitAuthor.create(name=author, born=dt.date(1950, 1, 2))
        for title, price in books:
            KitBook.create(title=title, author_id=person.id, price=Decimal(price), tags={"t": [title]})
        return person

    def test_create_assigns_keys_and_reads_back_typed_values(self, shelf):
        author = self.add("Le Guin", ("Earthsea", "9.50"), ("Lathe", "7.25"))
        assert author.id is not None
        found = KitAuthor.find(author.id)
        assert found.name == "Le Guin" and found.born == dt.date(1950, 1, 2)
        books = KitBook.where(KitBook.c.author_id == author.id).order_by("title").all()
        assert [b.title for b in books] == ["Earthsea", "Lathe"]
        assert books[0].price == Decimal("9.50") and isinstance(books[0].code, uuid.UUID)
        assert books[0].tags == {"t": ["Earthsea"]} and books[0].in_print is True

    def test_update_writes_changes(self, shelf):
        author = self.add("Banks", ("Excession", "8.00"))
        book = KitBook.find_by(title="Excession")
        book.price = Decimal("10.00")
        book.in_print = False
        book.save()
        again = KitBook.find(book.id)
        assert again.price == Decimal("10.00") and again.in_print is False
        assert again.author_id == author.id

    def test_delete_and_find_missing(self, shelf):
        self.add("Gone")
        author = KitAuthor.find_by(name="Gone")
        author.delete()
        with pytest.raises(RecordNotFound):
            KitAuthor.find(author.id)
        assert KitAuthor.count() == 0

    def test_query_basics(self, shelf):
        self.add("A", ("a1", "1.00"), ("a2", "2.00"), ("a3", "3.00"))
        self.add("B", ("b1", "4.00"))
        cheap = KitBook.where(KitBook.c.price < Decimal(3)).order_by("title")
        assert [b.title for b in cheap.all()] == ["a1", "a2"]
        assert KitBook.count() == 4 and cheap.count() == 2
        assert [b.title for b in KitBook.order_by("title").limit(2).offset(1).all()] == ["a2", "a3"]
        assert KitBook.where(title="b1").exists() and not KitBook.where(title="zz").exists()
        assert KitBook.order_by("title").first().title == "a1"
        assert sorted(KitBook.where(KitBook.c.price >= Decimal(3)).pluck("title")) == ["a3", "b1"]

    def test_bulk_update_and_delete(self, shelf):
        self.add("A", ("a1", "1.00"), ("a2", "2.00"))
        assert KitBook.where(title="a1").update_all(in_print=False) == 1
        assert [b.title for b in KitBook.where(in_print=False).all()] == ["a1"]
        assert KitBook.where(in_print=True).delete_all() == 1
        assert KitBook.count() == 1

    def test_unique_violation_through_a_model(self, shelf):
        self.add("Twin")
        with pytest.raises(UniqueViolationError):
            KitAuthor(name="Twin").save(validate=False)  # past the model's uniqueness check, to the index
        assert KitAuthor.count() == 1

    def test_transaction_rolls_back_model_writes(self, shelf):
        with pytest.raises(RuntimeError), KitAuthor.transaction():
            self.add("Undone", ("u1", "1.00"))
            raise RuntimeError("roll back")
        assert KitAuthor.count() == 0 and KitBook.count() == 0
        with KitAuthor.transaction():
            self.add("Kept")
        assert [a.name for a in KitAuthor.all()] == ["Kept"]

    def test_nested_model_transaction_undoes_only_the_inner_block(self, shelf):
        requires(shelf, "supports_savepoints")
        with KitAuthor.transaction():
            self.add("Outer")
            with pytest.raises(UniqueViolationError), KitAuthor.transaction():
                KitAuthor.create(name="Inner")
                KitAuthor(name="Outer").save(validate=False)  # the index refuses it
        assert sorted(a.name for a in KitAuthor.all()) == ["Outer"]
