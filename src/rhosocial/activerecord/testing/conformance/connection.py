"""Connection lifecycle of every backend: connect, disconnect, ping, reconnect."""
from __future__ import annotations

import dataclasses

from rhosocial.activerecord.backend import Capabilities, StorageBackend

from .utils import insert_person, make_people, names


class TestConnection:
    """Connect, disconnect, ping and reconnect."""

    def test_fixture_backend_is_connected_and_pings(self, backend):
        assert backend.is_connected() is True
        assert backend.ping() is True
        assert backend.in_transaction is False and backend.transaction_level == 0

    def test_connect_is_idempotent(self, backend):
        opened = backend.pool.stats().opened
        backend.connect()
        backend.connect()
        assert backend.pool.stats().opened == opened == 1
        with backend.connection() as first:
            pass
        with backend.connection() as again:
            assert again is first  # the idle connection is reused

    def test_disconnect_then_ping(self, backend):
        backend.disconnect()
        assert backend.is_connected() is False
        assert backend.ping() is False
        assert backend.is_connected() is False
        assert backend.ping(reconnect=True) is True
        assert backend.is_connected() is True

    def test_disconnect_twice_is_harmless(self, backend):
        backend.disconnect()
        backend.disconnect()
        assert backend.is_connected() is False

    def test_lazy_connect_on_first_execute(self, backend, backend_factory):
        other = backend_factory()
        assert other.is_connected() is False
        assert other.fetch_value("SELECT 1") == 1
        assert other.is_connected() is True

    def test_lazy_connect_for_catalog_calls(self, backend, backend_factory):
        other = backend_factory()
        assert other.table_exists("nothing_here") is False
        assert other.is_connected() is True

    def test_context_manager_connects_and_disconnects(self, backend, backend_factory):
        other = backend_factory()
        with other as entered:
            assert entered is other
            assert other.is_connected() is True
            assert other.fetch_value("SELECT 2") == 2
        assert other.is_connected() is False

    def test_reconnect_after_disconnect_keeps_data(self, backend):
        make_people(backend)
        insert_person(backend, "ada", 36)
        backend.disconnect()
        assert backend.fetch_value("SELECT 1") == 1
        assert backend.is_connected() is True
        if backend.capabilities.supports_multiple_connections:
            # A persistent database (not a private in-memory one) still holds the row.
            assert names(backend) == ["ada"]

    def test_disconnect_inside_transaction_resets_state_and_loses_the_work(self, backend):
        make_people(backend)
        backend.begin_transaction()
        insert_person(backend, "uncommitted")
        backend.disconnect()
        assert backend.in_transaction is False and backend.transaction_level == 0
        if backend.capabilities.supports_multiple_connections:
            assert names(backend) == []

    def test_capabilities_are_a_frozen_object(self, backend):
        caps = backend.capabilities
        assert isinstance(caps, Capabilities)
        assert backend.features is caps
        assert caps.as_dict()["supports_transactions"] is True
        try:
            caps.supports_returning = not caps.supports_returning
        except dataclasses.FrozenInstanceError:
            pass
        else:  # pragma: no cover - the assertion explains the failure
            raise AssertionError("Capabilities must be frozen")

    def test_repr_names_the_state_but_never_the_password(self, backend):
        secret = "s3cret-pw-xyz"
        config = dataclasses.replace(backend.config, password=secret,
                                     options=dict(backend.config.options))
        other = type(backend)(config)
        text = repr(other)
        assert secret not in text
        assert "disconnected" in text
        assert type(backend).__name__ in text
        assert "connected" in repr(backend) and "disconnected" not in repr(backend)
        assert secret not in other.config.describe()

    def test_dialect_is_shared_and_of_the_declared_class(self, backend):
        assert backend.dialect is backend.dialect
        assert isinstance(backend.dialect, type(backend).dialect_class)
        assert isinstance(backend, StorageBackend)
