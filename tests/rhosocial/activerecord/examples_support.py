"""What the tests of the counter examples share (test_wsgi_example.py, test_fastapi_example.py).

Each example (``examples/<name>/app.py``) is one self-contained file meant to
be copied, so the tests load it by path and bind its models to the test's
backend. Both examples serve the same API, so the tests also share its
requests, the checks of each response as it arrives, and the checks of the
final state: the responses against each other and against the database.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

from rhosocial.activerecord.backend import StorageBackend

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load_example(folder: str) -> ModuleType:
    """Import examples/<folder>/app.py once, under a name no other module uses."""
    name = f"rhosocial_example_{folder}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / folder / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # pydantic resolves the models' annotations through it
        spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def bound_models(app: ModuleType, backend: StorageBackend) -> Iterator[ModuleType]:
    """``app`` with its models on ``backend``; unbound again afterwards."""
    for model in app.MODELS:
        model.configure(backend)
    try:
        yield app
    finally:
        for model in app.MODELS:
            type.__setattr__(model, "__backend__", None)


# -- requests and responses -------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """One exchange as a client saw it."""

    method: str
    path: str
    counter: str  # the counter the request was about
    status: int
    body: dict[str, Any]
    client: int = 0  # the client that sent it (test_wsgi_example.py)
    round: int = 0  # the round of concurrent requests it was in (test_fastapi_example.py)


class CounterRequests:
    """The example API's requests, each made through the client's ``send()``.

    A synchronous client's ``send()`` returns the response, an async client's a coroutine,
    and so do these.
    """

    log: list[Response]

    def send(self, method: str, path: str, body: bytes | None = None, counter: str = "") -> Any:
        raise NotImplementedError

    def record(self, method: str, path: str, counter: str, status: int, content_type: str | None,
               data: bytes, **where: int) -> Response:
        """Check the framing of one response, log it and return it; ``where``: its client or round."""
        assert content_type == "application/json", (method, path, status, data)
        response = Response(method, path, counter, status, json.loads(data), **where)
        self.log.append(response)
        return response

    def create(self, name: str) -> Any:
        return self.send("POST", "/counters", json.dumps({"name": name}).encode(), name)

    def increment(self, name: str) -> Any:
        return self.send("POST", f"/counters/{quote(name)}/increment", counter=name)

    def get(self, name: str) -> Any:
        return self.send("GET", f"/counters/{quote(name)}", counter=name)


def bad_requests(missing: str) -> list[tuple[tuple[Any, ...], int]]:
    """Malformed or unknown requests: the arguments of ``send()`` and the status each must get.

    ``missing``: a counter name that does not exist.
    """
    return [
        (("POST", "/counters", b"{not json"), 400),
        (("POST", "/counters", b'["a list"]'), 400),
        (("POST", "/counters", b'{"name": 7}'), 400),
        (("POST", f"/counters/{quote(missing)}/increment", None, missing), 404),
        (("GET", f"/counters/{quote(missing)}", None, missing), 404),
        (("POST", "/counters", json.dumps({"name": ""}).encode()), 400),
    ]


# -- what each response must be, checked as it arrives ----------------------------------------


def expect(response: Response, status: int, body: dict[str, Any] | None = None) -> None:
    """Fail unless ``response`` has this status (and, when given, exactly this body)."""
    assert response.status == status, response
    if body is not None:
        assert response.body == body, response
    elif status >= 400:
        assert isinstance(response.body.get("error"), str), response


def check_create(response: Response, name: str) -> None:
    """One of several creates of ``name`` at once: it won (a new counter) or lost (409)."""
    assert response.status in (201, 409), response
    if response.status == 201:
        expect(response, 201, {"name": name, "value": 0, "hits": 0})
    else:
        expect(response, 409)


def check_increment(response: Response, name: str) -> int:
    """An increment of ``name`` succeeded; returns the value it answered."""
    expect(response, 200)
    assert set(response.body) == {"name", "value"}, response
    assert response.body["name"] == name, response
    value: int = response.body["value"]
    return value


def check_read(response: Response, name: str, at_least: int) -> None:
    """A read of ``name`` sees at least ``at_least``, and its value and hits agree."""
    expect(response, 200)
    assert set(response.body) == {"name", "value", "hits"}, response
    assert response.body["name"] == name and response.body["value"] >= at_least, (response, at_least)
    assert response.body["hits"] == response.body["value"], response


# -- the final state --------------------------------------------------------------------------


def check_create_races(log: list[Response], racers: dict[str, int]) -> None:
    """Of the ``racers[name]`` concurrent creates of each name, exactly one won."""
    for name, n in racers.items():
        creates = [r for r in log if r.path == "/counters" and r.counter == name]
        assert sorted(r.status for r in creates) == [201] + [409] * (n - 1), (name, creates)


def increment_values(log: Iterable[Response]) -> dict[str, list[int]]:
    """The values the successful increments answered, per counter, in the order of ``log``."""
    values: dict[str, list[int]] = defaultdict(list)
    for r in log:
        if r.path.endswith("/increment") and r.status == 200:
            assert r.body["name"] == r.counter, r
            values[r.counter].append(r.body["value"])
    return values


def check_increments(log: list[Response], expected_n: dict[str, int]) -> None:
    """Per counter the increments answered exactly 1..N, each once (N: ``expected_n``)."""
    values = increment_values(log)
    assert set(values) == {name for name, n in expected_n.items() if n}
    for name, n in expected_n.items():
        assert sorted(values[name]) == list(range(1, n + 1)), name


def check_database(example: ModuleType, backend: StorageBackend, expected_n: dict[str, int],
                   final: dict[str, Response]) -> None:
    """The final reads, the models and raw SQL agree: each counter has value N and N Hit rows 1..N."""
    Counter, Hit = example.Counter, example.Hit
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
        assert sorted(Hit.where(counter_id=counter.id).pluck("value")) == list(range(1, n + 1)), name
        raw_value = backend.fetch_value(
            f"SELECT {q('value')} FROM {q('counters')} WHERE {q('name')} = {p}", [name])
        raw_hits = backend.fetch_value(
            f"SELECT COUNT(*) FROM {q('hits')} WHERE {q('counter_id')} = {p}", [counter.id])
        assert (int(raw_value), int(raw_hits)) == (n, n), name
