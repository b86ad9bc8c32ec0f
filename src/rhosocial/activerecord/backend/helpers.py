"""Helpers every backend needs: type formatting, option parsing, JSON, type names, sockets.

The ``format_*`` functions are ``TypeMapping.format_func`` values; the rest
were written by each built-in backend for itself before they moved here.
"""
from __future__ import annotations

import json
import math
import os
import re
import select
import socket
from typing import Any, Iterable, Mapping

_TYPE_SIZE = re.compile(r"\s*\(.*\)\s*$")


def format_with_length(db_type: str, params: Mapping[str, Any]) -> str:
    """Append ``(length)`` when ``params`` has a ``length``: ``VARCHAR`` -> ``VARCHAR(255)``."""
    length = params.get("length")
    if length is None:
        return db_type
    return f"{db_type}({_positive_int('length', length)})"


def format_decimal(db_type: str, params: Mapping[str, Any]) -> str:
    """Append ``(precision, scale)`` or ``(precision)``: ``NUMERIC`` -> ``NUMERIC(10,2)``."""
    precision = params.get("precision")
    scale = params.get("scale")
    if precision is None:
        if scale is not None:
            raise ValueError("DECIMAL scale given without precision")
        return db_type
    precision = _positive_int("precision", precision)
    if scale is None:
        return f"{db_type}({precision})"
    scale = _non_negative_int("scale", scale)
    if scale > precision:
        raise ValueError(f"DECIMAL scale {scale} exceeds precision {precision}")
    return f"{db_type}({precision},{scale})"


def format_with_precision(db_type: str, params: Mapping[str, Any]) -> str:
    """Append a fractional-seconds precision: ``DATETIME`` -> ``DATETIME(6)``."""
    precision = params.get("precision")
    if precision is None:
        return db_type
    return f"{db_type}({_non_negative_int('precision', precision)})"


def fixed(sql: str):
    """Return a format function that ignores the parameters and yields ``sql``."""

    def _fixed(db_type: str, params: Mapping[str, Any]) -> str:
        return sql

    return _fixed


def as_bool(value: Any) -> bool:
    """Read a boolean option that may arrive as text from a URL (``"1"``, ``"true"``, ``"on"``)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def json_dumps(value: Any) -> str:
    """Serialise JSON compactly, keeping non-ASCII text as is."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_loads(value: Any) -> Any:
    """Parse JSON text (``str`` or ``bytes``); other values pass through."""
    return json.loads(value) if isinstance(value, (str, bytes, bytearray)) else value


def base_type_name(declared: str | None) -> str:
    """Return a catalog type name without its size, upper case: ``varchar(40)`` -> ``VARCHAR``."""
    return _TYPE_SIZE.sub("", declared or "").strip().upper()


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def socket_has_data(fd: int) -> bool:
    """Return whether the socket behind ``fd`` has data, an error or end-of-file waiting (no wait).

    On an idle database connection nothing should be waiting; something that
    is usually means the server closed it. Backends use it in
    ``_check_connection`` to vet pooled connections without a round trip.
    """
    if not hasattr(select, "poll"):  # Windows
        readable, _, broken = select.select([fd], [], [fd], 0)
        return bool(readable or broken)
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def shut_down_socket(fd: int) -> None:
    """Shut down the socket behind ``fd`` so a call blocked on it fails at once.

    Works through a duplicate descriptor, so ``fd`` stays owned by the driver
    (which then reports the connection broken). Backends use it in
    ``_interrupt`` to bound calls to a server that stopped answering.
    """
    sock = socket.socket(fileno=os.dup(fd))
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed
    finally:
        sock.close()


def finite_float(value: Any) -> Any:
    """Pass a float through unless it is NaN or infinite, which the database cannot store.

    SQLite turns NaN into NULL without a word, and MySQL has no NaN or
    infinity at all; their dialects write floats through this check.

    Raises:
        DataError: the value is NaN or +-infinity.
    """
    if isinstance(value, float) and not math.isfinite(value):
        from .errors import DataError

        raise DataError(f"{value!r} cannot be stored here: this database keeps only finite numbers "
                        "(SQLite would store NaN as NULL); store NULL, or a sentinel, instead")
    return value


def finite_real(value: Any) -> Any:
    """Like :func:`finite_float`, but infinity passes (SQLite stores it; only NaN is lost)."""
    if isinstance(value, float) and value != value:
        return finite_float(value)
    return value


def check_options(backend: str, options: Mapping[str, Any], known: Iterable[str],
                  unsupported: Mapping[str, str] | None = None) -> None:
    """Refuse settings a backend does not know, so a typo or a wish is never silently ignored.

    Args:
        backend: the backend's name, for the message.
        options: the settings given.
        known: the names the backend reads (the pool settings are added).
        unsupported: names the backend knows of but cannot honour, with what to use instead.

    Raises:
        NotSupportedError: a setting in ``unsupported`` was given.
        ConfigurationError: a setting is not known.
    """
    from .errors import ConfigurationError, NotSupportedError
    from .pool import POOL_OPTIONS

    for name, hint in (unsupported or {}).items():
        if name in options:
            raise NotSupportedError(f"{backend} cannot enforce {name}: {hint}")
    allowed = set(known) | POOL_OPTIONS
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigurationError(
            f"Unknown {backend} settings: {', '.join(unknown)}. Known settings: {', '.join(sorted(allowed))}")
