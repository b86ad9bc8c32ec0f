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
import importlib.util
import json
import logging
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest

from rhosocial.activerecord.backend import StorageBackend
from rhosocial.activerecord.testing.threads import run_threads

waitress_server = pytest.importorskip("waitress.server", reason="waitress runs the WSGI example")
from waitress import wasyncore  # type: ignore[import-untyped]  # (after the importorskip)

APP_PATH = Path(__file__).resolve().parents[3] / "examples" / "wsgi_counter" / "app.py"

SERVER_THREADS = 8
CLIENTS = 16
INCREMENTS = 25  # per client, on the shared counters
OWN_INCREMENTS = 5  # per client, on its own counter
SHARED = ("alpha", "beta", "gamma", "zähler")  # every client tries to create each of these at once
PER_SHARED = CLIENTS * INCREMENTS // len(SHARED)
SOCKET_TIMEOUT = 60.0  # seconds one request may take
RUN_TIMEOUT = 300.0  # seconds the whole client run may take


def load_example() -> ModuleType:
    """Import examples/wsgi_counter/app.py once, under a name no other module uses."""
    name = "rhosocial_example_wsgi_counter"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, APP_PATH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # pydantic resolves the models' annotations through it
        spec.loader.exec_module(module)
    return module


@pytest.fixture
def example(backend: StorageBackend) -> Iterator[ModuleType]:
    """The example module with its models on the test's backend and their tables created."""
    app = load_example()
    for model in app.MODELS:
        model.configure(backend)
    try:
        app.create_tables()
        yield app
    finally:
        for model in app.MODELS:
            type.__setattr__(model, "__backend__", None)


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


@dataclass(frozen=True)
class Response:
    """One exchange as a client saw it."""

    client: int
    method: str
    path: str
    counter: str  # the counter the request was about
    status: int
    body: dict[str, Any]


class Client:
    """One HTTP/1.1 keep-alive connection that records every response."""

    def __init__(self, index: int, port: int) -> None:
        self.index = index
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=SOCKET_TIMEOUT)
        self.log: list[Response] = []

    def send(self, method: str, path: str, body: bytes | None = None,
             counter: str = "") -> Response:
        """Send one request and return the response, checking its framing."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.connection.request(method, path, body=body, headers=headers)
        raw = self.connection.getresponse()
        data = raw.read()
        assert raw.getheader("Content-Type") == "application/json", (method, path, raw.status, data)
        response = Response(self.index, method, path, counter, raw.status, json.loads(data))
        self.log.append(response)
        return response

    def create(self, name: str) -> Response:
        return self.send("POST", "/counters", json.dumps({"name": name}).encode(), name)

    def increment(self, name: str) -> Response:
        return self.send("POST", f"/counters/{quote(name)}/increment", counter=name)

    def get(self, name: str) -> Response:
        return self.send("GET", f"/counters/{quote(name)}", counter=name)

    def close(self) -> None:
        self.connection.close()


def own_name(client: int) -> str:
    return f"client-{client:02d}"


def expect(response: Response, status: int, body: dict[str, Any] | None = None) -> None:
    """Fail unless ``response`` has this status (and, when given, exactly this body)."""
    assert response.status == status, response
    if body is not None:
        assert response.body == body, response
    elif status >= 400:
        assert isinstance(response.body.get("error"), str), response


def bad_request(client: Client) -> None:
    """One malformed or unknown request, which kind depending on the client."""
    kind = client.index % 5
    if kind == 0:
        expect(client.send("POST", "/counters", b"{not json"), 400)
    elif kind == 1:
        expect(client.send("POST", "/counters", b'["a list"]'), 400)
    elif kind == 2:
        expect(client.send("POST", "/counters", b'{"name": 7}'), 400)
    elif kind == 3:
        expect(client.increment(f"missing-{client.index}"), 404)
    else:
        expect(client.get(f"missing-{client.index}"), 404)


def drive(clients: list[Client], timeout: float) -> None:
    """Run every client in its own thread: a create race, then increments with reads between."""
    phase = threading.Barrier(len(clients), timeout=timeout)

    def work(i: int) -> None:
        client = clients[i]
        try:
            for name in SHARED:
                phase.wait()  # all clients create this name at the same moment
                response = client.create(name)
                assert response.status in (201, 409), response
                if response.status == 201:
                    expect(response, 201, {"name": name, "value": 0, "hits": 0})
                else:
                    expect(response, 409)
            expect(client.create(own_name(i)), 201, {"name": own_name(i), "value": 0, "hits": 0})
            expect(client.create(own_name(i)), 409)
            bad_request(client)
            phase.wait()  # every counter exists before anyone increments

            for k in range(INCREMENTS):
                name = SHARED[(i + k) % len(SHARED)]
                response = client.increment(name)
                expect(response, 200)
                assert set(response.body) == {"name", "value"}, response
                assert response.body["name"] == name, response
                value = response.body["value"]
                assert isinstance(value, int) and 1 <= value <= PER_SHARED, response
                if k % 5 == 4:  # a read sees this client's increment, and value and hits agree
                    seen = client.get(name)
                    expect(seen, 200)
                    assert seen.body["name"] == name and seen.body["value"] >= value, (seen, value)
                    assert seen.body["hits"] == seen.body["value"], seen
                if k < OWN_INCREMENTS:
                    expect(client.increment(own_name(i)), 200,
                           {"name": own_name(i), "value": k + 1})
        except BaseException:
            phase.abort()  # the others fail fast instead of waiting for this one
            raise

    run_threads(work, len(clients), timeout=timeout)


def test_concurrent_clients_agree_with_the_database(example: ModuleType, served: Served,
                                                    backend: StorageBackend) -> None:
    Counter, Hit = example.Counter, example.Hit
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
    for name in SHARED:
        creates = [r for r in log if r.path == "/counters" and r.counter == name]
        assert sorted(r.status for r in creates) == [201] + [409] * (CLIENTS - 1), (name, creates)

    # Increments: per counter the returned values are exactly 1..N, each once,
    # and rising in the order each client got them.
    values: dict[str, list[int]] = defaultdict(list)
    for r in log:
        if r.path.endswith("/increment") and r.status == 200:
            assert r.body["name"] == r.counter, r
            values[r.counter].append(r.body["value"])
    expected_n = {**{name: PER_SHARED for name in SHARED},
                  **{own_name(i): OWN_INCREMENTS for i in range(CLIENTS)}}
    assert set(values) == set(expected_n)
    for name, n in expected_n.items():
        assert sorted(values[name]) == list(range(1, n + 1)), name
    for client in clients:
        per_counter: dict[str, list[int]] = defaultdict(list)
        for r in client.log:
            if r.path.endswith("/increment") and r.status == 200:
                per_counter[r.counter].append(r.body["value"])
        for name, seq in per_counter.items():
            assert seq == sorted(seq) and len(set(seq)) == len(seq), (client.index, name, seq)

    # Every response, including the final reads, against the database itself.
    q = backend.dialect.quote_identifier
    p = backend.dialect.placeholder(1)
    assert Counter.count() == len(expected_n)
    assert int(backend.fetch_value(f"SELECT COUNT(*) FROM {q('counters')}")) == len(expected_n)
    assert Hit.count() == sum(expected_n.values())
    assert int(backend.fetch_value(f"SELECT COUNT(*) FROM {q('hits')}")) == sum(expected_n.values())
    for name, n in expected_n.items():
        expect(final[name], 200, {"name": name, "value": n, "hits": n})
        counter = Counter.find_by(name=name)
        assert counter is not None and counter.value == n, name
        assert Hit.where(counter_id=counter.id).count() == n, name
        hit_values = Hit.where(counter_id=counter.id).pluck("value")
        assert sorted(hit_values) == list(range(1, n + 1)), name
        raw_value = backend.fetch_value(
            f"SELECT {q('value')} FROM {q('counters')} WHERE {q('name')} = {p}", [name])
        raw_hits = backend.fetch_value(
            f"SELECT COUNT(*) FROM {q('hits')} WHERE {q('counter_id')} = {p}", [counter.id])
        assert (int(raw_value), int(raw_hits)) == (n, n), name

    stats = backend.pool.stats()
    assert stats.checked_out == 0 and stats.timeouts == 0, stats
    print(f"\n{backend.name}: {len(log)} requests from {CLIENTS} clients in {elapsed:.2f}s "
          f"({len(log) / elapsed:.0f}/s); pool opened {stats.opened}, waits {stats.waits}")
