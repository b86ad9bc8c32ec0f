"""The async FastAPI example (examples/fastapi_counter) under a real uvicorn server.

On each backend: the example's models are bound to the test database, uvicorn
serves the app on a free port from an event loop in a background thread (the
app's lifespan creates the tables with ``acreate_table``), and an
``httpx.AsyncClient`` in the test's own event loop sends rounds of 50
concurrent requests (``asyncio.gather``): first a race to create the same
counters, then increments of the shared counters mixed with more create
races, reads and malformed requests. Every response is checked as it
arrives, and at the end the responses must match the database exactly: each
counter's increment responses are exactly 1..N, and its value and its Hit
rows are N, read through the models and by raw SQL, from synchronous code and
from async code on yet another event loop.
"""
from __future__ import annotations

import asyncio
import gc
import itertools
import socket
import sys
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import examples_support as support
import pytest

from rhosocial.activerecord.backend import StorageBackend

pytest.importorskip("fastapi", reason="fastapi runs the async example (pip install fastapi)")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn serves the async example (pip install uvicorn)")
httpx = pytest.importorskip("httpx", reason="httpx is the async example's test client (pip install httpx)")
pytest.importorskip("greenlet", reason='the async ORM API needs greenlet (pip install greenlet)')

CONCURRENT = 50  # requests in flight at once, in every round
SHARED = ("alpha", "beta", "gamma", "zähler")  # raced for in round 0, incremented in every round after
RACERS = 12  # concurrent creates of each shared name in round 0
ROUNDS = 4  # mixed rounds after the first race
NEW_PER_ROUND = 2  # names raced for in each mixed round (incremented in the rounds after it)
NEW_RACERS = 4  # concurrent creates of each of them
READS = 4  # GETs per mixed round
BAD = 2  # malformed or unknown requests per mixed round
ROUND_TIMEOUT = 60.0  # seconds one round of concurrent requests may take
REQUEST_TIMEOUT = 90.0  # seconds one request may take (above ROUND_TIMEOUT: a stuck round reports)
RUN_TIMEOUT = 300.0  # seconds the whole client run may take
START_TIMEOUT = 30.0  # seconds uvicorn may take to start (the lifespan creates the tables)
STOP_TIMEOUT = 15.0  # seconds uvicorn may take to stop


@pytest.fixture
def example(backend: StorageBackend) -> Iterator[ModuleType]:
    """The example module with its models on the test's backend (the app's lifespan makes the tables)."""
    if backend.name == "mysql":
        pytest.importorskip("asyncmy", reason="async use of MySQL/MariaDB needs asyncmy (pip install asyncmy)")
    with support.bound_models(support.load_example("fastapi_counter"), backend) as app:
        yield app


@dataclass
class Served:
    """A running uvicorn server, the thread that runs its event loop, and that loop."""

    server: Any
    thread: threading.Thread
    port: int
    loop: asyncio.AbstractEventLoop | None = None
    error: BaseException | None = None

    def call(self, coroutine: Awaitable[Any], timeout: float = 10.0) -> Any:
        """Run ``coroutine`` on the server's event loop and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)  # type: ignore[arg-type]

    def diagnose(self) -> str:
        """Where the server is stuck: its loop thread, its tasks, the ORM calls they wait in.

        Read from this thread without the loop's help (the loop may be what is stuck);
        identical stacks are shown once, with how many share them.
        """
        stacks: dict[str, int] = {}

        def note(title: str, stack: str) -> None:
            key = f"--- {title}\n{stack}"
            stacks[key] = stacks.get(key, 0) + 1

        frame = sys._current_frames().get(self.thread.ident or -1)
        if frame is not None:
            note("the uvicorn loop thread", "".join(traceback.format_stack(frame)))
        if self.loop is not None:
            for task in asyncio.all_tasks(self.loop):
                note("task", "".join(_await_chain(task.get_coro())))
        for obj in gc.get_objects():  # the synchronous ORM code each busy bridge greenlet waits in
            if type(obj).__name__ == "Bridge" and getattr(obj, "loop", None) is self.loop \
                    and getattr(obj, "gr_frame", None) is not None:
                note("ORM call (bridge greenlet)", "".join(traceback.format_stack(obj.gr_frame)))
        return "\n".join(f"{key}({count}x)\n" for key, count in stacks.items()) or "(nothing)"

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask uvicorn to exit (it then runs the lifespan shutdown) and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():  # stuck in a graceful shutdown: cut the connections
            self.server.force_exit = True
            self.thread.join(timeout)
        assert not self.thread.is_alive(), f"uvicorn did not stop. The server:\n{self.diagnose()}"
        if self.error is not None:
            raise AssertionError(f"uvicorn's event loop failed: {self.error!r}") from self.error


def _await_chain(coroutine: Any) -> list[str]:
    """The frames of a suspended coroutine and of what it awaits, outermost first.

    Frames of installed packages (the server, the framework) are left out, except the
    innermost: what the task is waiting for.
    """
    frames = []
    while coroutine is not None:
        frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
        if frame is not None:
            frames.append(frame)
        coroutine = getattr(coroutine, "cr_await", None) or getattr(coroutine, "gi_yieldfrom", None)
    return [f'  File "{f.f_code.co_filename}", line {f.f_lineno}, in {f.f_code.co_name}\n'
            for i, f in enumerate(frames)
            if i == len(frames) - 1 or "site-packages" not in f.f_code.co_filename]


@pytest.fixture
def served(example: ModuleType) -> Iterator[Served]:
    """The example app under uvicorn on 127.0.0.1 and a free port, in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the port is ours from here on: no race for a "free" one
    config = uvicorn.Config(
        example.make_app(), lifespan="on", loop="asyncio", log_config=None, access_log=False,
        log_level="warning", timeout_graceful_shutdown=5, backlog=CONCURRENT * 4)
    server = uvicorn.Server(config)
    running: Served

    def run() -> None:
        async def serve() -> None:
            running.loop = asyncio.get_running_loop()
            await server.serve(sockets=[sock])

        try:
            asyncio.run(serve())
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            running.error = exc

    thread = threading.Thread(target=run, name="uvicorn-loop", daemon=True)
    running = Served(server, thread, sock.getsockname()[1])
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, (
            "uvicorn did not start (the lifespan startup failed or hung; see the captured log)"
            if running.error is None else f"uvicorn did not start: {running.error!r}")
        yield running
    finally:
        running.stop()
        sock.close()


@dataclass
class Client(support.CounterRequests):
    """An ``httpx.AsyncClient`` that records every response."""

    http: Any
    diagnose: Callable[[], str]
    round: int = 0
    log: list[support.Response] = field(default_factory=list)

    async def send(self, method: str, path: str, body: bytes | None = None,
                   counter: str = "") -> support.Response:
        """Send one request and return the response, checking its framing."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        raw = await self.http.request(method, path, content=body, headers=headers)
        return self.record(method, path, counter, raw.status_code, raw.headers.get("content-type"),
                           raw.content, round=self.round)


def new_name(round_: int, k: int) -> str:
    return f"round-{round_}-{k}"


# -- what each request expects, checked as its response arrives -------------------------------


async def create_racer(client: Client, name: str) -> None:
    support.check_create(await client.create(name), name)


async def incrementer(client: Client, name: str, at_least: int) -> None:
    """One increment; the value must be past every value a previous round saw."""
    response = await client.increment(name)
    value = support.check_increment(response, name)
    assert isinstance(value, int) and value > at_least, (response, at_least)


async def reader(client: Client, name: str, at_least: int) -> None:
    """A read sees at least what the previous rounds did, and value and hits agree."""
    support.check_read(await client.get(name), name, at_least)


async def bad_request(client: Client, kind: int) -> None:
    """One malformed or unknown request, which kind depending on ``kind``."""
    kind %= 6
    args, status = support.bad_requests(f"missing-{kind}")[kind]
    support.expect(await client.send(*args), status)


async def gather_all(client: Client, requests: list[Awaitable[None]]) -> None:
    """Run the requests at once; fail with every failure, not just the first.

    A round that does not finish in time fails with the server's state.
    """
    assert len(requests) == CONCURRENT, len(requests)
    tasks = [asyncio.ensure_future(request) for request in requests]
    _done, pending = await asyncio.wait(tasks, timeout=ROUND_TIMEOUT)
    if pending:
        report = client.diagnose()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        raise AssertionError(f"round {client.round}: {len(pending)} of {len(tasks)} requests "
                             f"unanswered after {ROUND_TIMEOUT:g}s. The server:\n{report}")
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise ExceptionGroup(f"{len(failed)} of {len(requests)} concurrent requests failed", [
            e if isinstance(e, Exception) else RuntimeError(repr(e)) for e in failed])


async def drive(client: Client) -> dict[str, int]:
    """Round 0: the create race; then mixed rounds. Returns the increments sent per counter."""
    planned: dict[str, int] = defaultdict(int)  # increments sent so far, per counter
    seen: dict[str, int] = defaultdict(int)  # the highest value any previous round returned

    # Round 0: every shared name is created by RACERS requests at the same moment.
    requests: list[Awaitable[None]] = [create_racer(client, name)
                                       for _ in range(RACERS) for name in SHARED]
    requests += [bad_request(client, k) for k in range(CONCURRENT - len(requests))]
    await gather_all(client, requests)
    existing = list(SHARED)

    for round_ in range(1, ROUNDS + 1):
        client.round = round_
        names = [new_name(round_, k) for k in range(NEW_PER_ROUND)]
        requests = [create_racer(client, name) for _ in range(NEW_RACERS) for name in names]
        requests += [bad_request(client, round_ * BAD + k) for k in range(BAD)]
        requests += [reader(client, existing[(round_ + k) % len(existing)],
                            seen[existing[(round_ + k) % len(existing)]]) for k in range(READS)]
        increments = CONCURRENT - len(requests)
        for k in range(increments):
            # Most go to the shared counters, the rest to the counters of earlier rounds.
            name = SHARED[k % len(SHARED)] if k % 3 else existing[(k // 3) % len(existing)]
            planned[name] += 1
            requests.append(incrementer(client, name, seen[name]))
        await gather_all(client, requests)
        for r in client.log:
            if r.round == round_ and r.path.endswith("/increment") and r.status == 200:
                seen[r.counter] = max(seen[r.counter], r.body["value"])
        existing += names
    return {name: planned.get(name, 0) for name in existing}


async def run_clients(served: Served) -> tuple[Client, dict[str, int], dict[str, support.Response]]:
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.port}", limits=limits,
                                 timeout=httpx.Timeout(REQUEST_TIMEOUT)) as http:
        client = Client(http, served.diagnose)
        expected_n = await drive(client)
        client.round = ROUNDS + 1
        final = {name: await client.get(name) for name in expected_n}
    return client, expected_n, final


async def read_back_async(example: ModuleType, backend: StorageBackend,
                          expected_n: dict[str, int]) -> None:
    """The database through the async API, on an event loop of its own."""
    Counter, Hit = example.Counter, example.Hit
    q = backend.dialect.quote_identifier
    p = backend.dialect.placeholder(1)
    try:
        counters = await Counter.query().aall()
        assert sorted(c.name for c in counters) == sorted(expected_n)
        assert await Hit.acount() == sum(expected_n.values())
        raw = await backend.aexecute(
            f"SELECT {q('name')}, {q('value')} FROM {q('counters')} ORDER BY {q('id')}")
        assert {name: int(value) for name, value in raw.rows} == expected_n
        for name, n in expected_n.items():
            counter = await Counter.afind_by(name=name)
            assert counter is not None and counter.value == n, name
            assert sorted(await Hit.where(counter_id=counter.id).apluck("value")) == list(range(1, n + 1))
            raw_hits = await backend.afetch_value(
                f"SELECT COUNT(*) FROM {q('hits')} WHERE {q('counter_id')} = {p}", [counter.id])
            assert int(raw_hits) == n, name
    finally:
        await backend.adisconnect()  # this loop's connections, before the loop ends


def test_concurrent_requests_agree_with_the_database(example: ModuleType, served: Served,
                                                     backend: StorageBackend) -> None:
    started = time.perf_counter()
    client, expected_n, final = asyncio.run(asyncio.wait_for(run_clients(served), RUN_TIMEOUT))
    elapsed = time.perf_counter() - started
    log = client.log

    async def pool_stats() -> Any:
        pool = backend.async_pool()
        assert pool is not None, "the server's event loop never used the database"
        return pool.stats()

    stats = served.call(pool_stats())
    served.stop()  # the lifespan shutdown closes the server loop's connections

    # The create races: per name exactly one request won.
    races = {**dict.fromkeys(SHARED, RACERS),
             **{new_name(r, k): NEW_RACERS for r in range(1, ROUNDS + 1) for k in range(NEW_PER_ROUND)}}
    assert set(races) == set(expected_n)
    support.check_create_races(log, races)

    # Increments: per counter the returned values are exactly 1..N, each once, and every
    # value of a round is above every value of the rounds before it.
    support.check_increments(log, expected_n)
    assert all(n > 0 for name, n in expected_n.items() if name in SHARED)
    by_round = [support.increment_values(r for r in log if r.round == k) for k in range(1, ROUNDS + 1)]
    for name in expected_n:
        rounds = [sorted(values[name]) for values in by_round if values.get(name)]
        for earlier, later in itertools.pairwise(rounds):
            assert earlier[-1] < later[0], (name, rounds)

    # Every response, including the final reads, against the database itself.
    support.check_database(example, backend, expected_n, final)
    asyncio.run(asyncio.wait_for(read_back_async(example, backend, expected_n), RUN_TIMEOUT))

    # The server's pool: every connection given back, nobody timed out waiting for one.
    assert stats.checked_out == 0 and stats.timeouts == 0, stats
    print(f"\n{backend.name}: {len(log)} requests, {CONCURRENT} at a time, in {elapsed:.2f}s "
          f"({len(log) / elapsed:.0f}/s); server pool opened {stats.opened}, waits {stats.waits}")
