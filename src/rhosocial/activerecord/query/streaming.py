"""Streaming a query's records with a server-side cursor (``Query.stream``)."""
from __future__ import annotations

from typing import Any, Iterator


def stream(query: Any, batch_size: int) -> Iterator[Any]:
    raise NotImplementedError("Query.stream() is being built")
