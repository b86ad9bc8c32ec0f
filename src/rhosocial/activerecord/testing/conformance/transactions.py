"""Transactions on every backend: commit, rollback, savepoints, isolation, read-only."""
from __future__ import annotations

import pytest

from rhosocial.activerecord.backend import (
    IsolationLevel,
    IsolationLevelError,
    NotSupportedError,
    ReadOnlyError,
    TransactionError,
    UniqueViolationError,
)

from ..capability import requires
from .utils import insert_person, make_people, names


def second_connection(backend, backend_factory):
    requires(backend, "supports_multiple_connections")
    return backend_factory()


def _level_spellings():
    for level in IsolationLevel:
        yield pytest.param(level, level, id=f"enum-{level.name}")
        yield pytest.param(level, level.name, id=f"name-{level.name}")
        yield pytest.param(level, level.value.lower(), id=f"sql-{level.name}")


class TestTransactions:
    """Commit, roll back, nest through savepoints, set isolation and read-only."""

    @pytest.fixture
    def people(self, backend):
        make_people(backend)
        return backend

    def test_commit_makes_rows_visible_to_other_connections(self, people, backend_factory):
        other = second_connection(people, backend_factory)
        people.begin_transaction()
        assert people.in_transaction and people.transaction_level == 1
        insert_person(people, "ada")
        assert names(other) == []  # not visible before commit
        people.commit_transaction()
        assert not people.in_transaction
        assert names(other) == ["ada"]

    def test_rollback_undoes_everything(self, people):
        people.begin_transaction()
        insert_person(people, "ada")
        insert_person(people, "bob")
        assert names(people) == ["ada", "bob"]
        people.rollback_transaction()
        assert names(people) == [] and people.transaction_level == 0

    def test_context_manager_commits(self, people):
        with people.transaction() as b:
            assert b is people and people.in_transaction
            insert_person(people, "ada")
        assert not people.in_transaction
        assert names(people) == ["ada"]

    def test_context_manager_rolls_back_and_reraises(self, people):
        with pytest.raises(KeyError), people.transaction():
            insert_person(people, "ada")
            raise KeyError("boom")
        assert not people.in_transaction
        assert names(people) == []

    @pytest.mark.requires("supports_savepoints")
    def test_nested_failure_undoes_only_the_inner_block(self, people):
        with people.transaction():
            insert_person(people, "outer-1")
            try:
                with people.transaction():
                    assert people.transaction_level == 2
                    insert_person(people, "inner")
                    raise RuntimeError("inner fails")
            except RuntimeError:
                pass
            assert people.transaction_level == 1
            insert_person(people, "outer-2")
        assert names(people) == ["outer-1", "outer-2"]

    @pytest.mark.requires("supports_savepoints")
    def test_nested_database_error_undoes_only_the_inner_block(self, people):
        """After a failed statement in a savepoint the outer transaction is still usable."""
        with people.transaction():
            insert_person(people, "ada")
            with pytest.raises(UniqueViolationError), people.transaction():
                insert_person(people, "inner-ok")
                insert_person(people, "ada")  # duplicate name
            insert_person(people, "bob")
        assert names(people) == ["ada", "bob"]

    @pytest.mark.requires("supports_savepoints")
    def test_nested_success_commits_with_the_outer_block(self, people):
        with people.transaction(), people.transaction(), people.transaction():
            assert people.transaction_level == 3
            insert_person(people, "deep")
        assert names(people) == ["deep"]

    @pytest.mark.requires("supports_savepoints")
    def test_outer_failure_undoes_committed_inner_blocks(self, people):
        with pytest.raises(ZeroDivisionError), people.transaction():
            with people.transaction():
                insert_person(people, "inner")
            raise ZeroDivisionError("outer fails")
        assert names(people) == []

    @pytest.mark.requires("supports_savepoints")
    def test_savepoints_three_levels_deep_with_methods(self, people):
        b = people
        b.begin_transaction()
        insert_person(b, "a")
        b.begin_transaction()
        insert_person(b, "b")
        b.begin_transaction()
        assert b.transaction_level == 3
        insert_person(b, "c")
        b.rollback_transaction()          # undo level 3 only
        assert b.transaction_level == 2 and names(b) == ["a", "b"]
        b.begin_transaction()
        insert_person(b, "d")
        b.commit_transaction()            # release level 3
        assert b.transaction_level == 2 and names(b) == ["a", "b", "d"]
        b.rollback_transaction()          # undo level 2, including the released level 3
        assert b.transaction_level == 1 and names(b) == ["a"]
        b.commit_transaction()
        assert b.transaction_level == 0 and names(b) == ["a"]

    def test_nesting_follows_supports_savepoints(self, people):
        with people.transaction():
            insert_person(people, "ada")
            if people.capabilities.supports_savepoints:
                people.begin_transaction()
                assert people.transaction_level == 2
                insert_person(people, "inner")
                people.rollback_transaction()
            else:
                with pytest.raises(NotSupportedError):
                    people.begin_transaction()
            assert people.transaction_level == 1
            insert_person(people, "bob")
        assert names(people) == ["ada", "bob"]

    def test_commit_without_a_transaction(self, backend):
        with pytest.raises(TransactionError):
            backend.commit_transaction()

    def test_rollback_without_a_transaction(self, backend):
        with pytest.raises(TransactionError):
            backend.rollback_transaction()

    @pytest.mark.requires("supports_savepoints")
    def test_unbalanced_block_is_an_error_and_leaves_nothing_open(self, people):
        with pytest.raises(TransactionError), people.transaction():
            insert_person(people, "ada")
            people.begin_transaction()  # never closed
        assert not people.in_transaction
        assert names(people) == []

    def test_failed_transaction_leaves_nothing_behind(self, people, backend_factory):
        with pytest.raises(UniqueViolationError), people.transaction():
            insert_person(people, "ada")
            insert_person(people, "bob")
            insert_person(people, "ada")
        assert not people.in_transaction
        assert names(people) == []
        if people.capabilities.supports_multiple_connections:
            assert names(backend_factory()) == []
        insert_person(people, "ada")  # the connection is usable again
        assert names(people) == ["ada"]

    @pytest.mark.parametrize("level, spelling", list(_level_spellings()))
    def test_isolation_levels(self, people, level, spelling):
        if level not in people.capabilities.isolation_levels:
            with pytest.raises(NotSupportedError):
                people.begin_transaction(isolation_level=spelling)
            assert not people.in_transaction
            return
        with people.transaction(isolation_level=spelling):
            insert_person(people, "ada")
        assert names(people) == ["ada"]

    @pytest.mark.parametrize("bad", ["SERIALIZABLE; DROP TABLE people", "snapshot", "", 3])
    def test_unknown_isolation_level_executes_nothing(self, people, bad):
        with people.capture_statements() as captured, pytest.raises(IsolationLevelError) as info:
            people.begin_transaction(isolation_level=bad)
        assert captured == []
        assert isinstance(info.value, ValueError) and isinstance(info.value, TransactionError)
        assert not people.in_transaction
        assert people.table_exists("people")

    def test_isolation_level_on_a_nested_level_is_rejected(self, people):
        with people.transaction():
            insert_person(people, "ada")
            with pytest.raises(TransactionError):
                people.begin_transaction(isolation_level=IsolationLevel.SERIALIZABLE)
            with pytest.raises(TransactionError):
                people.begin_transaction(read_only=True)
            assert people.transaction_level == 1
        assert names(people) == ["ada"]

    def test_read_only_transaction_rejects_writes(self, people):
        if not people.capabilities.supports_read_only_transactions:
            with pytest.raises(NotSupportedError):
                people.begin_transaction(read_only=True)
            return
        insert_person(people, "before")
        with pytest.raises(ReadOnlyError), people.transaction(read_only=True):
            assert names(people) == ["before"]  # reads work
            insert_person(people, "denied")
        assert not people.in_transaction
        insert_person(people, "after")  # writable again
        assert names(people) == ["after", "before"]

    def test_read_only_transaction_that_commits_restores_writes(self, people):
        requires(people, "supports_read_only_transactions")
        with people.transaction(read_only=True):
            assert names(people) == []
        insert_person(people, "after")
        with people.transaction():
            insert_person(people, "in-tx")
        assert names(people) == ["after", "in-tx"]

    def test_unknown_transaction_options_are_refused(self, people):
        with pytest.raises(TypeError, match="kit_no_such_option"), people.transaction(kit_no_such_option=1):
            insert_person(people, "never")
        assert not people.in_transaction
        assert names(people) == []
