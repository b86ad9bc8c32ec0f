"""Custom field types from the registry: stored, loaded and compared through their converters."""
from __future__ import annotations

from decimal import Decimal
from ipaddress import IPv4Address
from typing import Any, Optional

import pytest
from pydantic_core import core_schema

from rhosocial.activerecord import ActiveRecord, Field, FieldType, ModelDefinitionError, register_type
from rhosocial.activerecord.backend import DatabaseType
from rhosocial.activerecord.model.types import TypeRegistry
from rhosocial.activerecord.testing.threads import run_threads


class Money:
    """An amount of money, kept exact; stored as a whole number of cents."""

    __slots__ = ("amount",)

    def __init__(self, amount: Any) -> None:
        self.amount = Decimal(str(amount)).quantize(Decimal("0.01"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.amount == self.amount

    def __hash__(self) -> int:
        return hash(self.amount)

    def __repr__(self) -> str:
        return f"Money('{self.amount}')"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return core_schema.no_info_plain_validator_function(lambda v: v if isinstance(v, Money) else Money(v))


register_type(Money, DatabaseType.BIGINT, to_db=lambda m: int(m.amount * 100),
              from_db=lambda cents: Money(Decimal(cents) / 100))
register_type(IPv4Address, DatabaseType.VARCHAR, length=15, to_db=str, from_db=IPv4Address)


class Payment(ActiveRecord):
    __tablename__ = "custom_type_payments"
    id: Optional[int] = None
    amount: Money
    client: IPv4Address
    refund: Optional[Money] = None


def test_custom_types_save_load_and_compare_through_their_converters(bind, backend):
    bind(Payment)
    columns = {c.name: c for c in backend.get_columns("custom_type_payments")}
    assert columns["amount"].db_type in (DatabaseType.BIGINT, DatabaseType.INTEGER)
    assert columns["client"].db_type is DatabaseType.VARCHAR
    p = Payment.create(amount=Money("12.34"), client="10.0.0.1")
    Payment.create(amount="0.99", client=IPv4Address("192.168.1.20"), refund=Money("0.99"))
    q = backend.dialect.quote_identifier
    stored = backend.execute(f"SELECT {q('amount')}, {q('client')} FROM {q('custom_type_payments')} "
                             f"ORDER BY {q('id')}").rows
    assert [(int(a), c) for a, c in stored] == [(1234, "10.0.0.1"), (99, "192.168.1.20")]

    loaded = Payment.find(p.id)
    assert loaded.amount == Money("12.34") and loaded.client == IPv4Address("10.0.0.1")
    assert loaded.refund is None
    assert Payment.where(client="192.168.1.20").one().refund == Money("0.99")
    assert Payment.where(Payment.c.amount > Money("1")).pluck("client") == [IPv4Address("10.0.0.1")]
    assert Payment.where(amount=[Money("0.99"), Money("5")]).count() == 1
    loaded.amount = Money("20")
    loaded.save()
    assert Payment.find(p.id).amount == Money("20.00")
    assert Payment.where(Payment.c.amount >= Money("20")).update_all(refund=Money("1.5")) == 1
    assert Payment.find(p.id).refund == Money("1.50")


def test_a_wrong_value_for_a_custom_type_names_the_field(bind, backend):
    from rhosocial.activerecord.backend import DataError

    bind(Payment)
    with pytest.raises(DataError, match=r"Payment\.client"):
        Payment.where(client="not an address").all()


def test_register_type_rejects_bad_arguments_and_unknown_types_say_how_to_register():
    with pytest.raises(TypeError, match="DatabaseType"):
        register_type(Money, "bigint")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="to_db must be callable"):
        register_type(Money, DatabaseType.BIGINT, to_db="int")  # type: ignore[arg-type]

    class Opaque:
        @classmethod
        def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
            return core_schema.any_schema()

    with pytest.raises(ModelDefinitionError, match="register_type"):
        class Bad(ActiveRecord):
            __tablename__ = "bad_custom"
            thing: Opaque


def test_registration_applies_to_subclasses_unless_told_otherwise():
    reg = TypeRegistry()

    class Base:
        pass

    class Child(Base):
        pass

    reg.register(Base, DatabaseType.TEXT, to_db=str)
    assert reg.lookup(Child).db_type is DatabaseType.TEXT
    reg.register(Base, DatabaseType.TEXT, subclasses=False)
    with pytest.raises(TypeError):
        reg.lookup(Child)
    assert reg.lookup(int) == FieldType(DatabaseType.BIGINT)


def test_registering_from_several_threads_loses_no_entry():
    reg = TypeRegistry()
    kinds = [type(f"Kind{i}", (), {}) for i in range(200)]
    run_threads(lambda i: [reg.register(kind, DatabaseType.TEXT) for kind in kinds[i::4]], 4, timeout=20)
    assert all(reg.lookup(k).db_type is DatabaseType.TEXT for k in kinds)
