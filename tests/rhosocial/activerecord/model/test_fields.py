"""Field declarations become columns: types, nullability, lengths, constraints, defaults."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Optional

import pydantic
import pytest

from rhosocial.activerecord import ActiveRecord, ColumnOptions, Field, ModelDefinitionError
from rhosocial.activerecord.backend import DatabaseType
from rhosocial.activerecord.backend.errors import DatabaseError, UniqueViolationError


class Product(ActiveRecord):
    name: str = Field(max_length=80)
    sku: str = Field(max_length=20, unique=True)
    description: Optional[str] = None  # noqa: UP045 - both spellings are under test
    note: str | None = None
    stock: int = 0
    active: bool = True
    category: str = Field(default="misc", max_length=30, index=True)
    price: Decimal = Field(default=Decimal("0.00"), max_digits=8, decimal_places=2)
    code: Annotated[str, ColumnOptions(unique=True)] = "none"
    released: Optional[dt.date] = None  # noqa: UP045


@pytest.fixture(autouse=True)
def tables(bind):
    bind(Product)


def columns(backend, table="products"):
    return {c.name: c for c in backend.get_columns(table)}


def test_annotations_become_columns_in_declaration_order(backend):
    assert list(columns(backend)) == list(Product.model_fields)
    cols = columns(backend)
    assert cols["stock"].db_type in (DatabaseType.INTEGER, DatabaseType.BIGINT)
    assert cols["price"].db_type is DatabaseType.DECIMAL
    assert cols["released"].db_type is DatabaseType.DATE
    assert cols["description"].db_type is DatabaseType.TEXT


def test_optional_means_nullable(backend):
    cols = columns(backend)
    assert cols["description"].nullable and cols["note"].nullable and cols["released"].nullable
    assert not cols["name"].nullable and not cols["stock"].nullable and not cols["active"].nullable


def test_max_length_makes_varchar_n(backend):
    cols = columns(backend)
    assert cols["name"].db_type is DatabaseType.VARCHAR and "(80)" in cols["name"].type
    assert cols["sku"].db_type is DatabaseType.VARCHAR and "(20)" in cols["sku"].type
    assert "(30)" in cols["category"].type


def test_max_length_is_validated_before_any_sql():
    with pytest.raises(pydantic.ValidationError):
        Product(name="x" * 81, sku="s")


def test_decimal_precision_and_scale(backend):
    assert "(8,2)" in columns(backend)["price"].type.replace(" ", "")
    p = Product.create(name="pen", sku="P1", price=Decimal("123456.78"))
    assert Product.find(p.id).price == Decimal("123456.78")
    with pytest.raises(pydantic.ValidationError):
        Product(name="pen", sku="P2", price=Decimal("1.234"))  # three decimal places
    with pytest.raises(pydantic.ValidationError):
        Product(name="pen", sku="P3", price=Decimal("1234567.00"))  # nine digits


def test_unique_is_enforced_by_the_database(count_rows):
    Product.create(name="a", sku="DUP", code="c1")
    duplicate = Product(name="b", sku="DUP", code="c2")
    with pytest.raises(UniqueViolationError):
        duplicate.save(validate=False)  # past the model's own check (test_validation.py), to the index
    assert duplicate.is_new_record and duplicate.id is None
    assert count_rows("products") == 1
    with pytest.raises(UniqueViolationError):  # unique given through Annotated[..., ColumnOptions]
        Product(name="c", sku="OTHER", code="c1").save(validate=False)
    assert count_rows("products") == 1


def test_index_true_creates_an_index(backend):
    class Tagged(ActiveRecord):
        label: str = Field(max_length=40, index=True)
        plain: str = ""

    with backend.capture_statements() as statements:
        Tagged.create_table()
    index_statements = [s for s in statements if "INDEX" in s.upper()]
    assert len(index_statements) == 1 and "label" in index_statements[0]
    # The index really exists: creating one with the same name again is refused.
    with pytest.raises(DatabaseError):
        backend.create_index("taggeds", ["label"])
    Tagged.create(label="same")
    Tagged.create(label="same")  # a plain index does not make values unique
    assert Tagged.query().where(label="same").count() == 2


def test_python_defaults_apply_at_construction():
    p = Product(name="n", sku="s")
    assert (p.stock, p.active, p.category, p.price, p.description) == (0, True, "misc", Decimal("0.00"), None)


def test_defaults_are_stored_and_are_column_defaults(backend):
    p = Product.create(name="n", sku="s", code="first")
    loaded = Product.find(p.id)
    assert (loaded.stock, loaded.active, loaded.category) == (0, True, "misc")
    # The literal defaults are also in the table, for rows written without the model.
    q = backend.dialect.quote_identifier
    insert = (f"INSERT INTO {q('products')} ({q('name')}, {q('sku')}, {q('price')}) VALUES (?, ?, ?)")
    backend.execute(backend.dialect.convert_placeholders(insert), ["raw", "RAW", Decimal("1.00")])
    raw = Product.find_by(sku="RAW")
    assert (raw.stock, raw.active, raw.category, raw.code) == (0, True, "misc", "none")


def test_field_with_default_factory():
    class Stamp(ActiveRecord):
        tags: list = pydantic.Field(default_factory=list)

    a, b = Stamp(), Stamp()
    a.tags.append("x")
    assert b.tags == []


def test_unknown_type_is_a_definition_error():
    class Opaque:
        pass

    with pytest.raises(ModelDefinitionError, match="thing.*register_type"):  # when the class is made
        class Holder(ActiveRecord):
            model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)
            thing: Opaque


def test_db_type_override(backend):
    class Doc(ActiveRecord):
        body: str = Field(db_type=DatabaseType.TEXT)
        size: int = Field(0, db_type=DatabaseType.INTEGER)

    Doc.create_table()
    cols = columns(backend, "docs")
    assert cols["body"].db_type is DatabaseType.TEXT
    assert cols["size"].db_type is DatabaseType.INTEGER


def test_unbounded_string_key_and_unique_columns_are_indexable(backend):
    """A ``str`` key or unique column without max_length still works on every backend."""

    class Setting(ActiveRecord):
        __primary_key__ = "key"
        key: str
        value: str = Field("", unique=True)

    Setting.create_table()
    Setting.create(key="colour", value="red")
    with pytest.raises(UniqueViolationError):
        Setting(key="shade", value="red").save(validate=False)  # the index, not the model's check
    assert Setting.find("colour").value == "red"


def test_extra_fields_are_rejected():
    with pytest.raises(pydantic.ValidationError):
        Product(name="n", sku="s", colour="red")
