"""The threaded WSGI example (examples/wsgi_counter) under a real waitress server.

On each backend: the example's models are bound to the test database, a
waitress server with 8 worker threads serves the app on a free port, and 16
HTTP clients (one keep-alive connection each, real sockets) race to create
the same counters and then increment shared counters. Every response is
checked as it arrives, and at the end the responses must match the database
exactly: each counter's increment responses are exactly 1..N, and its value
and its Hit rows (read through the models and by raw SQL) are N.
"""
from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import examples_support as support
import pytest

from rhosocial.activerecord.backend import StorageBackend
from rhosocial.activerecord.testing.threads import run_threads

waitress_server = pytest.importorskip("waitress.server", reason="waitress runs the WSGI example")
from waitress import wasyncore  # type: ignore[import-untyped]  # (after the importorskip)

SERVER_THREADS = 8
CLIENTS = 16
INCREMENTS = 25  # per client, on the shared counters
OWN_INCREMENTS = 5  # per client, on its own counter
SHARED = ("alpha", "beta", "gamma", "zähler")  # every client tries to create each of these at once
PER_SHARED = CLIENTS * INCREMENTS // len(SHARED)
SOCKET_TIMEOUT = 60.0  # seconds one request may take
RUN_TIMEOUT = 300.0  # seconds the whole client run may take


@pytest.fixture
def example(backend: StorageBackend) -> Iterator[ModuleType]:
    """The example module with its models on the test's backend and their tables created."""
    with support.bound_models(support.load_example("wsgi_counter"), backend) as app:
        app.create_tables()
        yield app


@dataclass
class Served:
    """A running waitress server and the thread that runs its loop."""

    server: Any
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    def stop(self, timeout: float = 10.0) -> None:
        """Close the listening socket and every channel, end the loop, stop the worker threads.

        The sockets are closed from the loop's own thread (through the trigger),
        so its ``select()`` never sees a descriptor closed underneath it.
        """
        server = self.server

        def close_everything() -> None:
            server.close()
            wasyncore.close_all(server._map, ignore_all=True)

        if self.thread.is_alive():
            server.trigger.pull_trigger(close_everything)
            self.thread.join(timeout)
        if self.thread.is_alive():  # the loop is stuck: close from here as a last resort
            wasyncore.close_all(server._map, ignore_all=True)
            self.thread.join(timeout)
        server.task_dispatcher.shutdown(timeout=timeout)
        assert not self.thread.is_alive(), "the waitress loop did not stop"


@pytest.fixture
def served(example: ModuleType) -> Iterator[Served]:
    """The example app under waitress on 127.0.0.1 and a free port, with 8 worker threads."""
    server = waitress_server.create_server(example.make_app(), host="127.0.0.1", port=0,
                                           threads=SERVER_THREADS)
    thread = threading.Thread(target=server.run, name="waitress-loop", daemon=True)
    queue_log = logging.getLogger("waitress.queue")
    level = queue_log.level
    queue_log.setLevel(logging.ERROR)  # "Task queue depth is N" is the point of the test, not news
    thread.start()
    running = Served(server, thread)
    try:
        yield running
    finally:
        running.stop()
        queue_log.setLevel(level)


class Client(support.CounterRequests):
    """One HTTP/1.1 keep-alive connection that records every response."""

    def __init__(self, index: int, port: int) -> None:
        self.index = index
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=SOCKET_TIMEOUT)
        self.log: list[support.Response] = []

    def send(self, method: str, path: str, body: bytes | None = None,
             counter: str = "") -> support.Response:
        """Send one request and return the response, checking its framing."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.connection.request(method, path, body=body, headers=headers)
        raw = self.connection.getresponse()
        return self.record(method, path, counter, raw.status, raw.getheader("Content-Type"), raw.read(),
                           client=self.index)

    def close(self) -> None:
        self.connection.close()


def own_name(client: int) -> str:
    return f"client-{client:02d}"


def bad_request(client: Client) -> None:
    """One malformed or unknown request, which kind depending on the client."""
    args, status = support.bad_requests(f"missing-{client.index}")[client.index % 5]
    support.expect(client.send(*args), status)


def drive(clients: list[Client], timeout: float) -> None:
    """Run every client in its own thread: a create race, then increments with reads between."""
    phase = threading.Barrier(len(clients), timeout=timeout)

    def work(i: int) -> None:
        client = clients[i]
        try:
            for name in SHARED:
                phase.wait()  # all clients create this name at the same moment
                support.check_create(client.create(name), name)
            support.expect(client.create(own_name(i)), 201, {"name": own_name(i), "value": 0, "hits": 0})
            support.expect(client.create(own_name(i)), 409)
            bad_request(client)
            phase.wait()  # every counter exists before anyone increments

            for k in range(INCREMENTS):
                name = SHARED[(i + k) % len(SHARED)]
                response = client.increment(name)
                value = support.check_increment(response, name)
                assert isinstance(value, int) and 1 <= value <= PER_SHARED, response
                if k % 5 == 4:  # a read sees this client's increment, and value and hits agree
                    support.check_read(client.get(name), name, value)
                if k < OWN_INCREMENTS:
                    support.expect(client.increment(own_name(i)), 200,
                           {"name": own_name(i), "value": k + 1})
        except BaseException:
            phase.abort()  # the others fail fast instead of waiting for this one
            raise

    run_threads(work, len(clients), timeout=timeout)


def test_concurrent_clients_agree_with_the_database(example: ModuleType, served: Served,
                                                    backend: StorageBackend) -> None:
    started = time.perf_counter()
    clients = [Client(i, served.port) for i in range(CLIENTS)]
    try:
        drive(clients, RUN_TIMEOUT)
        final = {name: clients[0].get(name) for name in (*SHARED, *map(own_name, range(CLIENTS)))}
    finally:
        for client in clients:
            client.close()
    elapsed = time.perf_counter() - started
    log = [r for client in clients for r in client.log]

    # The create race: per shared name exactly one client won.
    support.check_create_races(log, dict.fromkeys(SHARED, CLIENTS))

    # Increments: per counter the returned values are exactly 1..N, each once,
    # and rising in the order each client got them.
    expected_n = {**dict.fromkeys(SHARED, PER_SHARED),
                  **{own_name(i): OWN_INCREMENTS for i in range(CLIENTS)}}
    support.check_increments(log, expected_n)
    for client in clients:
        for name, seq in support.increment_values(client.log).items():
            assert seq == sorted(seq) and len(set(seq)) == len(seq), (client.index, name, seq)

    # Every response, including the final reads, against the database itself.
    support.check_database(example, backend, expected_n, final)

    stats = backend.pool.stats()
    assert stats.checked_out == 0 and stats.timeouts == 0, stats
    print(f"\n{backend.name}: {len(log)} requests from {CLIENTS} clients in {elapsed:.2f}s "
          f"({len(log) / elapsed:.0f}/s); pool opened {stats.opened}, waits {stats.waits}")
