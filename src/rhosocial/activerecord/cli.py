"""The command line: ``backends`` lists what is registered, ``check`` runs the conformance kit.

    python -m rhosocial.activerecord backends
    python -m rhosocial.activerecord check sqlite
    python -m rhosocial.activerecord check postgres --url postgresql://me@db/scratch
    python -m rhosocial.activerecord check duckdb database=/tmp/x.duckdb -- -x -k transactions
    python -m rhosocial.activerecord check mypkg.backend:MyBackend database=/tmp/scratch.db
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from .backend.capabilities import Capabilities
from .backend.errors import DatabaseError
from .backend.registry import (
    available_backends,
    get_backend_class,
    register_backend,
    resolve_backend_name,
)
from .backend.typing import IsolationLevel

BUILTIN = ("sqlite", "postgres", "mysql")


def _driver_installed(driver: str) -> bool:
    try:
        return bool(driver) and importlib.util.find_spec(driver) is not None
    except (ImportError, ValueError):
        return False


def _capabilities(cls: Any) -> Capabilities | None:
    """Connect to a scratch database when the backend needs no server; else ``None``."""
    settings = cls.scratch_settings()
    if settings is None:
        return None
    try:
        with cls(**settings) as backend:
            return backend.capabilities
    except DatabaseError:
        return None


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, frozenset):
        order = {level: i for i, level in enumerate(IsolationLevel)}
        initials = ("".join(w[0] for w in level.name.split("_")) for level in sorted(value, key=lambda level: order[level]))
        return ",".join(initials) or "none"
    if isinstance(value, tuple):
        return ".".join(map(str, value)) or "-"
    return str(value)


def list_backends() -> str:
    """Return the backend table and the capability table as text."""
    rows = [["backend", "class", "driver", "installed", "source"]]
    caps: dict[str, Capabilities | None] = {}
    for name in available_backends():
        try:
            cls = get_backend_class(name)
        except DatabaseError as exc:
            rows.append([name, f"unavailable: {exc}", "", "no", ""])
            continue
        installed = _driver_installed(cls.driver_name)
        rows.append([name, f"{cls.__module__}.{cls.__qualname__}", cls.driver_name,
                     "yes" if installed else "no", "built-in" if name in BUILTIN else "entry point"])
        caps[name] = _capabilities(cls) if installed else None
    names = list(caps)
    matrix = [["capability", *names]]
    for field in fields(Capabilities):
        matrix.append([field.name] + [
            _show(getattr(caps[n], field.name)) if caps[n] is not None else "?" for n in names])
    note = ("Isolation levels: RU read uncommitted, RC read committed, RR repeatable read, "
            "S serializable.\nCapabilities are decided at connect. Backends that need no server were connected to a "
            "scratch in-memory database;\n'?' marks a server backend: run "
            "`python -m rhosocial.activerecord check NAME --url URL` to test one.")
    return f"{_table(rows)}\n\n{_table(matrix)}\n\n{note}"


class _Summary:
    """A pytest plugin that counts outcomes and gathers skip reasons."""

    def __init__(self) -> None:
        self.counts = {"passed": 0, "failed": 0, "skipped": 0}
        self.reasons: dict[str, int] = {}
        self.failures: list[str] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when == "call" or (report.when != "call" and report.outcome != "passed"):
            if report.skipped:
                self.counts["skipped"] += 1
                longrepr = report.longrepr
                reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
                reason = reason.removeprefix("Skipped: ")
                self.reasons[reason] = self.reasons.get(reason, 0) + 1
            elif report.failed:
                self.counts["failed"] += 1
                self.failures.append(report.nodeid.split("::", 1)[-1])
            elif report.when == "call":
                self.counts["passed"] += 1


def get_backend_class_path(target: str) -> Any:
    """Import the class named by ``"package.module:Class"``."""
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _parse_options(pairs: Sequence[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"connection options are key=value, got {pair!r}")
        options[key] = value
    return options


def check(backend: str, url: str | None, pairs: Sequence[str], pytest_args: Sequence[str]) -> int:
    """Run the conformance kit against ``backend`` and print a summary; return the exit code."""
    import pytest

    from .testing import conformance
    from .testing.provider import GenericProvider, register_provider

    if ":" in backend:  # "package.module:Class", for a backend not packaged yet
        register_backend(get_backend_class_path(backend).name, backend)
        backend = get_backend_class_path(backend).name
    name = resolve_backend_name(backend)
    get_backend_class(name)  # fail early, listing the available names
    options = _parse_options(pairs)
    if url:
        options["url"] = url
    if options:
        register_provider(name, lambda: GenericProvider(name, **options))
    target = os.path.join(os.path.dirname(conformance.__file__), "collect_all.py")
    summary = _Summary()
    code = pytest.main([
        target, "-p", "rhosocial.activerecord.testing.plugin", f"--rhosocial-backends={name}",
        "-p", "no:cacheprovider", "--import-mode=importlib", "-q", "--no-header",
        "-o", "addopts=", "--rootdir", os.path.dirname(target), *pytest_args,
    ], plugins=[summary])
    c = summary.counts
    print(f"\n{name}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
    for reason, n in sorted(summary.reasons.items(), key=lambda item: -item[1]):
        print(f"  skipped {n:>3}: {reason}")
    for failure in summary.failures:
        print(f"  FAILED: {failure}")
    return int(code)


def main(argv: Sequence[str]) -> int:
    """Run the command line with ``argv`` (without the program name)."""
    parser = argparse.ArgumentParser(prog="python -m rhosocial.activerecord",
                                     description="rhosocial ActiveRecord tools")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("backends", help="list registered backends, their drivers and capabilities")
    run = sub.add_parser("check", help="run the backend conformance kit against a backend")
    run.add_argument("backend", help="a registered backend name, or package.module:Class")
    run.add_argument("--url", help="database URL to test in (tables it creates are dropped)")
    run.add_argument("options", nargs="*", help="connection settings as key=value")
    argv = list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    if args.command == "backends":
        print(list_backends())
        return 0
    return check(args.backend, args.url, args.options, argv[cut + 1:])
