"""``Model.transaction()``: commit, rollback and nesting through savepoints."""
from __future__ import annotations

import pytest

from rhosocial.activerecord import ActiveRecord, Field, configure


class Wallet(ActiveRecord):
    owner: str = Field(max_length=40)
    amount: int = 0


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def tables(bind):
    bind(Wallet)


def names():
    return sorted(Wallet.query().pluck("owner"))


def test_commit_keeps_the_writes(backend, backend_factory):
    with Wallet.transaction():
        Wallet.create(owner="a")
        Wallet.create(owner="b")
    assert names() == ["a", "b"]
    other = backend_factory()  # a second connection sees the committed rows

    class WalletElsewhere(ActiveRecord):
        __tablename__ = "wallets"
        owner: str = Field(max_length=40)
        amount: int = 0

    WalletElsewhere.configure(other)
    assert WalletElsewhere.count() == 2


def test_exception_rolls_back_every_write():
    keep = Wallet.create(owner="keep", amount=1)
    with pytest.raises(Boom), Wallet.transaction():
        Wallet.create(owner="new")
        keep.update(amount=2)
        Wallet.query().where(owner="keep").update_all(amount=3)
        raise Boom
    assert names() == ["keep"]
    assert Wallet.find(keep.id).amount == 1


def test_nested_inner_failure_undoes_only_the_inner_block(backend):
    if not backend.capabilities.supports_savepoints:
        pytest.skip("nested transactions need savepoints")
    with Wallet.transaction():
        Wallet.create(owner="outer before")
        with pytest.raises(Boom), Wallet.transaction():
            Wallet.create(owner="inner")
            raise Boom
        Wallet.create(owner="outer after")
    assert names() == ["outer after", "outer before"]


def test_nested_success_commits_with_the_outer_block(backend):
    if not backend.capabilities.supports_savepoints:
        pytest.skip("nested transactions need savepoints")
    with Wallet.transaction():
        with Wallet.transaction():
            Wallet.create(owner="inner")
        Wallet.create(owner="outer")
    assert names() == ["inner", "outer"]


def test_outer_failure_undoes_committed_inner_blocks(backend):
    if not backend.capabilities.supports_savepoints:
        pytest.skip("nested transactions need savepoints")
    with pytest.raises(Boom), Wallet.transaction():
        with Wallet.transaction():
            Wallet.create(owner="inner")
        raise Boom
    assert names() == []


def test_saves_with_after_hooks_nest_inside_a_user_transaction(bind):
    class Audited(ActiveRecord):
        __tablename__ = "audited_wallets"
        owner: str = Field(max_length=40)

        def after_save(self):
            pass

    bind(Audited)
    with pytest.raises(Boom), Audited.transaction():
        Audited.create(owner="x")  # its own transaction becomes a savepoint
        raise Boom
    assert Audited.count() == 0


def test_transaction_is_the_models_backend(backend):
    configure(backend)
    with Wallet.transaction():
        assert backend.in_transaction
    assert not backend.in_transaction
