"""A threaded WSGI counter service on rhosocial ActiveRecord, served by waitress.

Routes (JSON in, JSON out):

- ``POST /counters`` with ``{"name": "..."}``: create a counter (201; 409 if the name is taken)
- ``POST /counters/<name>/increment``: add one atomically and record a hit (200, the new value)
- ``GET /counters/<name>``: ``{"name", "value", "hits"}``

Unknown counters answer 404, malformed requests 400. Run it with::

    python examples/wsgi_counter/app.py --port 8080 --threads 8

``COUNTER_DATABASE_URL`` names the database (default ``sqlite:///counter.db``).
One ``configure()`` serves every waitress worker thread: the backend's pool
lends each request its own connection, and each thread's transaction is its own.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from pydantic import ValidationError

from rhosocial.activerecord import ActiveRecord, Field, RecordInvalid, RecordNotFound, TimestampMixin, configure
from rhosocial.activerecord.backend import IsolationLevel, UniqueViolationError

logger = logging.getLogger("wsgi_counter")

DEFAULT_DATABASE_URL = "sqlite:///counter.db"
MAX_BODY = 64 * 1024  # bytes; a counter name needs far less


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Counter(TimestampMixin, ActiveRecord):
    """A named counter; ``updated_at`` tells when it was last incremented."""

    __tablename__ = "counters"

    name: str = Field(min_length=1, max_length=100, unique=True)
    value: int = 0


class Hit(ActiveRecord):
    """One increment: which counter, the value it produced, and when."""

    __tablename__ = "hits"

    counter_id: int = Field(references="counters.id", on_delete="CASCADE", index=True)
    value: int
    created_at: datetime = Field(default_factory=_utc_now)


MODELS: tuple[type[ActiveRecord], ...] = (Counter, Hit)


def create_tables() -> None:
    """Create the example's tables unless they exist (parents first)."""
    for model in MODELS:
        model.create_table(if_not_exists=True)


# -- the operations -------------------------------------------------------------


def create_counter(name: str) -> Counter:
    """Insert a counter at zero.

    Raises:
        RecordInvalid: a counter with this name exists (checked before the INSERT).
        UniqueViolationError: one was created at the same moment (the UNIQUE constraint
            decides, so two simultaneous creates of one name cannot both succeed).
        ValidationError: the name is empty or too long.
    """
    return Counter.create(name=name)


def increment_counter(name: str) -> int:
    """Add one to the counter and record a :class:`Hit`, in one transaction; return the new value.

    Where the backend has row locks, the counter row is read ``FOR UPDATE``,
    so concurrent increments of one counter queue behind each other instead
    of reading the same value. SQLite has none, but its write transactions run
    one at a time, which gives the same guarantee. ``run_in_transaction``
    re-runs the work if the database picks this transaction as a deadlock
    victim or serialization loser.

    Raises:
        RecordNotFound: no counter has this name.
    """

    def attempt() -> int:
        query = Counter.where(name=name)
        if Counter.backend().capabilities.supports_for_update:
            query = query.for_update()
        counter = query.one()
        counter.update(value=counter.value + 1)
        Hit.create(counter_id=counter.id, value=counter.value)
        return counter.value

    return Counter.run_in_transaction(attempt, retries=5, backoff=0.01, max_backoff=0.2)


def read_counter(name: str) -> dict[str, Any]:
    """Return ``{"name", "value", "hits"}`` read from one snapshot, so value and hits agree.

    Raises:
        RecordNotFound: no counter has this name.
    """
    caps = Counter.backend().capabilities
    snapshot = IsolationLevel.REPEATABLE_READ
    level = snapshot if snapshot in caps.isolation_levels else None
    with Counter.transaction(isolation_level=level, read_only=caps.supports_read_only_transactions):
        counter = Counter.where(name=name).one()
        hits = Hit.where(counter_id=counter.id).count()
    return {"name": counter.name, "value": counter.value, "hits": hits}


# -- HTTP -------------------------------------------------------------------------


class HTTPError(Exception):
    """An error response: status code and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large",
           500: "Internal Server Error"}

Handler = Callable[[WSGIEnvironment, str], tuple[int, dict[str, Any]]]


def _read_json(environ: WSGIEnvironment) -> dict[str, Any]:
    """Return the request body as a JSON object, or raise a 400 (413 when too large)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise HTTPError(400, "bad Content-Length") from None
    if length > MAX_BODY:
        raise HTTPError(413, f"body larger than {MAX_BODY} bytes")
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HTTPError(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HTTPError(400, "body must be a JSON object")
    return data


def _post_counters(environ: WSGIEnvironment, _name: str) -> tuple[int, dict[str, Any]]:
    name = _read_json(environ).get("name")
    if not isinstance(name, str):
        raise HTTPError(400, '"name" must be a string')
    try:
        counter = create_counter(name)
    except ValidationError as exc:
        raise HTTPError(400, f"invalid name: {exc.errors()[0]['msg']}") from None
    except (RecordInvalid, UniqueViolationError):  # the model's check, or the index under a race
        raise HTTPError(409, f"counter {name!r} exists") from None
    return 201, {"name": counter.name, "value": counter.value, "hits": 0}


def _post_increment(_environ: WSGIEnvironment, name: str) -> tuple[int, dict[str, Any]]:
    return 200, {"name": name, "value": increment_counter(name)}


def _get_counter(_environ: WSGIEnvironment, name: str) -> tuple[int, dict[str, Any]]:
    return 200, read_counter(name)


ROUTES: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    (re.compile(r"/counters/?"), {"POST": _post_counters}),
    (re.compile(r"/counters/(?P<name>[^/]+)/increment"), {"POST": _post_increment}),
    (re.compile(r"/counters/(?P<name>[^/]+)"), {"GET": _get_counter}),
]


def _dispatch(environ: WSGIEnvironment) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """Route one request; return status, JSON body and extra headers."""
    # WSGI hands PATH_INFO over as latin-1; names are UTF-8.
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    method = environ["REQUEST_METHOD"]
    for pattern, handlers in ROUTES:
        match = pattern.fullmatch(path)
        if match is None:
            continue
        handler = handlers.get(method)
        if handler is None:
            allowed = ", ".join(sorted(handlers))
            return 405, {"error": f"use {allowed}"}, [("Allow", allowed)]
        name = match.groupdict().get("name") or ""
        try:
            status, body = handler(environ, name)
        except HTTPError as exc:
            return exc.status, {"error": exc.message}, []
        except RecordNotFound:
            return 404, {"error": f"no counter named {name!r}"}, []
        return status, body, []
    return 404, {"error": f"no route for {path}"}, []


def make_app() -> WSGIApplication:
    """Return the WSGI application; it uses whatever backend the models are configured with."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, body, headers = _dispatch(environ)
        except Exception:  # a bug or an outage: log it, answer 500
            logger.exception("%s %s failed",
                             environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            status, body, headers = 500, {"error": "internal error"}, []
        payload = json.dumps(body).encode("utf-8")
        start_response(f"{status} {REASONS.get(status, '')}".rstrip(), [
            ("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *headers])
        return [payload]

    return app


def main(argv: list[str] | None = None) -> None:
    """Configure the ORM from ``COUNTER_DATABASE_URL``, create the tables, serve with waitress."""
    import waitress  # type: ignore[import-untyped]  # (no stubs)

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--host", default=os.environ.get("COUNTER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("COUNTER_PORT", "8080")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("COUNTER_THREADS", "8")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)

    url = os.environ.get("COUNTER_DATABASE_URL", DEFAULT_DATABASE_URL)
    # One pooled connection per worker thread, unless the URL says otherwise (?pool_size=...).
    pool = {} if "pool_size=" in url else {"pool_size": args.threads}
    configure(url=url, **pool)
    create_tables()
    waitress.serve(make_app(), host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
