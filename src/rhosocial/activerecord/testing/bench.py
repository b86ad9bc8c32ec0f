"""The backend kit's performance step: standard workloads through models and through raw SQL."""
from __future__ import annotations

from typing import Any


def command(name: str, rows: int | None = None, repeat: int | None = None, json_file: str | None = None) -> int:
    raise SystemExit("bench is being built")
