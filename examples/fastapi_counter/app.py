"""An asyncio counter service on rhosocial ActiveRecord, served by FastAPI and uvicorn.

Routes (JSON in, JSON out):

- ``POST /counters`` with ``{"name": "..."}``: create a counter (201; 409 if the name is taken)
- ``POST /counters/<name>/increment``: add one atomically and record a hit (200, the new value)
- ``GET /counters/<name>``: ``{"name", "value", "hits"}``

Unknown counters answer 404, malformed requests 400. Run it with::

    python examples/fastapi_counter/app.py --port 8080

``COUNTER_DATABASE_URL`` names the database (default ``sqlite:///counter.db``).
Every handler is ``async def`` and uses only the ORM's async API (``acreate``,
``atransaction``, ``afirst``, ``asave`` ...): one event loop serves every
request, and while one request waits for the database the loop serves the
others. The same models work from synchronous code too (``Counter.find_by``).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rhosocial.activerecord import ActiveRecord, Field, RecordInvalid, RecordNotFound, TimestampMixin, configure
from rhosocial.activerecord.backend import IsolationLevel, StorageBackend, UniqueViolationError

logger = logging.getLogger("fastapi_counter")

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


def _backends() -> list[StorageBackend]:
    """The distinct backends the models use (usually one)."""
    found: list[StorageBackend] = []
    for model in MODELS:
        backend = model.backend()
        if all(backend is not other for other in found):
            found.append(backend)
    return found


async def create_tables() -> None:
    """Create the example's tables unless they exist (parents first)."""
    for model in MODELS:
        await model.acreate_table(if_not_exists=True)


async def close_connections() -> None:
    """Close the models' connections (at shutdown, while the event loop still runs)."""
    for backend in _backends():
        await backend.adisconnect()


# -- the operations -------------------------------------------------------------


async def create_counter(name: str) -> Counter:
    """Insert a counter at zero.

    Raises:
        RecordInvalid: a counter with this name exists (checked before the INSERT).
        UniqueViolationError: one was created at the same moment (the UNIQUE constraint
            decides, so two simultaneous creates of one name cannot both succeed).
        ValidationError: the name is empty or too long.
    """
    return await Counter.acreate(name=name)


async def increment_counter(name: str) -> int:
    """Add one to the counter and record a :class:`Hit`, in one transaction; return the new value.

    Where the backend has row locks, the counter row is read ``FOR UPDATE``,
    so concurrent increments of one counter queue behind each other instead
    of reading the same value; a request waiting for the lock only waits for
    its own database reply, the event loop goes on serving the others. SQLite
    has no row locks, but its write transactions run one at a time, which
    gives the same guarantee. ``arun_in_transaction`` re-runs the work if the
    database picks this transaction as a deadlock victim or serialization loser.

    Raises:
        RecordNotFound: no counter has this name.
    """

    async def attempt() -> int:
        query = Counter.query().where(name=name)
        if Counter.backend().capabilities.supports_for_update:
            query = query.for_update()
        counter = await query.afirst()
        if counter is None:
            raise RecordNotFound(f"no counter named {name!r}", Counter, name)
        counter.value += 1
        await counter.asave()
        await Hit.acreate(counter_id=counter.id, value=counter.value)
        return counter.value

    return await Counter.arun_in_transaction(attempt, retries=5, backoff=0.01, max_backoff=0.2)


async def read_counter(name: str) -> dict[str, Any]:
    """Return ``{"name", "value", "hits"}`` read from one snapshot, so value and hits agree.

    Raises:
        RecordNotFound: no counter has this name.
    """
    caps = Counter.backend().capabilities
    snapshot = IsolationLevel.REPEATABLE_READ
    level = snapshot if snapshot in caps.isolation_levels else None
    async with Counter.atransaction(isolation_level=level,
                                    read_only=caps.supports_read_only_transactions):
        counter = await Counter.afind_by(name=name)
        if counter is None:
            raise RecordNotFound(f"no counter named {name!r}", Counter, name)
        hits = await Hit.where(counter_id=counter.id).acount()
    return {"name": counter.name, "value": counter.value, "hits": hits}


# -- HTTP -------------------------------------------------------------------------


class HTTPError(Exception):
    """An error response: status code and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _read_json(request: Request) -> dict[str, Any]:
    """Return the request body as a JSON object, or raise a 400 (413 when too large)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise HTTPError(400, "bad Content-Length") from None
        if length > MAX_BODY:
            raise HTTPError(413, f"body larger than {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():  # bounded even without a Content-Length (chunked)
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPError(413, f"body larger than {MAX_BODY} bytes")
    try:
        data = json.loads(bytes(body))
    except (ValueError, UnicodeDecodeError):
        raise HTTPError(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise HTTPError(400, "body must be a JSON object")
    return data


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def make_app() -> FastAPI:
    """Return the ASGI application; it uses whatever backend the models are configured with.

    Its lifespan creates the tables at startup (``acreate_table(if_not_exists=True)``)
    and closes the event loop's connections at shutdown.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await create_tables()
        try:
            yield
        finally:
            await close_connections()

    app = FastAPI(title="counter", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.exception_handler(HTTPError)
    async def http_error(_request: Request, exc: HTTPError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(RecordNotFound)
    async def not_found(request: Request, _exc: RecordNotFound) -> JSONResponse:
        name = request.path_params.get("name", "")
        return _error(404, f"no counter named {name!r}")

    @app.exception_handler(StarletteHTTPException)
    async def routing_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown paths (404) and wrong methods (405, with its Allow header) answer JSON too.
        if exc.status_code == 404:
            message = f"no route for {request.url.path}"
        elif exc.status_code == 405 and exc.headers and "Allow" in exc.headers:
            message = f"use {exc.headers['Allow']}"
        else:
            message = str(exc.detail)
        return _error(exc.status_code, message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, f"invalid request: {exc.errors()[0].get('msg', 'invalid')}")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, _exc: Exception) -> JSONResponse:
        # A bug or an outage: answer 500 (the server logs the traceback).
        logger.error("%s %s failed", request.method, request.url.path)
        return _error(500, "internal error")

    @app.post("/counters", status_code=201)
    @app.post("/counters/", status_code=201, include_in_schema=False)
    async def post_counters(request: Request) -> dict[str, Any]:
        name = (await _read_json(request)).get("name")
        if not isinstance(name, str):
            raise HTTPError(400, '"name" must be a string')
        try:
            counter = await create_counter(name)
        except ValidationError as exc:
            raise HTTPError(400, f"invalid name: {exc.errors()[0]['msg']}") from None
        except (RecordInvalid, UniqueViolationError):  # the model's check, or the index under a race
            raise HTTPError(409, f"counter {name!r} exists") from None
        return {"name": counter.name, "value": counter.value, "hits": 0}

    @app.post("/counters/{name}/increment")
    async def post_increment(name: str) -> dict[str, Any]:
        return {"name": name, "value": await increment_counter(name)}

    @app.get("/counters/{name}")
    async def get_counter(name: str) -> dict[str, Any]:
        return await read_counter(name)

    return app


def main(argv: list[str] | None = None) -> None:
    """Configure the ORM from ``COUNTER_DATABASE_URL`` and serve with uvicorn (tables made at startup)."""
    import uvicorn

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--host", default=os.environ.get("COUNTER_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("COUNTER_PORT", "8080")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)

    # The event loop gets a pool of its own (pool_size, max_overflow ... from the URL: ?pool_size=20).
    configure(url=os.environ.get("COUNTER_DATABASE_URL", DEFAULT_DATABASE_URL))
    uvicorn.run(make_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
