"""The command line: backends, the conformance kit, migrations, inspect and schema-check.

    python -m rhosocial.activerecord backends
    python -m rhosocial.activerecord check sqlite
    python -m rhosocial.activerecord check postgres --url postgresql://me@db/scratch
    python -m rhosocial.activerecord check duckdb database=/tmp/x.duckdb -- -x -k transactions
    python -m rhosocial.activerecord check mypkg.backend:MyBackend database=/tmp/scratch.db
    python -m rhosocial.activerecord new "add age"
    python -m rhosocial.activerecord makemigrations --models app.models --url sqlite:///app.db
    python -m rhosocial.activerecord migrate [TARGET] --url ... [--strict]
    python -m rhosocial.activerecord rollback [N] --url ...
    python -m rhosocial.activerecord status --url ...
    python -m rhosocial.activerecord inspect --url ... [--tables a b]
    python -m rhosocial.activerecord schema-check --url ... --models app.models

The database comes from ``--url`` or ``DATABASE_URL``; models from
``--models``, ``RHOSOCIAL_MODELS`` or ``[tool.rhosocial.activerecord] models``
in ./pyproject.toml (``migrations`` there sets the directory). Exit codes:
0 success, 1 a failure or (schema-check) a difference, 2 bad usage or
settings, 3 lint findings under ``--strict``, 4 the migration lock timed out.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
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


def kit_backend(backend: str, url: str | None, options: dict[str, Any]) -> str:
    """Resolve ``backend`` (a name or ``package.module:Class``) for the kit's tools; return its name.

    With a URL or settings, the kit's provider for it connects with them
    (tables it creates are dropped); without, the backend's own provider
    is used (built-in backends: the local servers, a scratch schema).
    """
    from .testing.provider import GenericProvider, register_provider

    if ":" in backend:  # "package.module:Class", for a backend not packaged yet
        register_backend(get_backend_class_path(backend).name, backend)
        backend = get_backend_class_path(backend).name
    name = resolve_backend_name(backend)
    get_backend_class(name)  # fail early, listing the available names
    if url:
        options = {**options, "url": url}
    if options:
        register_provider(name, lambda: GenericProvider(name, **options))
    return name


def _package_of(cls: type) -> tuple[str, list[str], list[str]]:
    """Return the package holding ``cls`` and what coverage.py measures of it.

    That is its directories (``source``), or for a top-level module its file
    (``include``); never the package's name, because for a dotted name
    coverage.py imports the parent packages at start and then drops them
    from ``sys.modules``; asyncio, imported meanwhile, is then imported
    twice, while its C part keeps raising the first import's
    ``CancelledError``, which ``except asyncio.CancelledError`` no longer
    catches.
    """
    module = sys.modules[cls.__module__]
    name = module.__package__ or module.__name__
    package = sys.modules[name]
    paths = list(getattr(package, "__path__", ()))
    return name, paths, [] if paths else [str(package.__file__)]


def _percent(part: int, whole: int) -> str:
    """Format ``part / whole`` with one decimal, rounded down (89.96 is not 90.0)."""
    return f"{(part * 1000 // whole) / 10 if whole else 100.0:.1f}"


def _check_with_coverage(backend: str, url: str | None, pairs: Sequence[str], pytest_args: Sequence[str],
                         fail_under: float | None) -> int:
    """Run ``check`` in a child under coverage.py; print the line and branch coverage of the backend's package.

    A child, because this process has imported the backend already: measuring
    started here (pytest-cov's ``--cov`` included) would miss every line that
    ran at import, the ``def`` and ``class`` lines among them.
    """
    try:
        import coverage
    except ImportError:
        print("error: check --coverage needs coverage.py: pip install pytest-cov", file=sys.stderr)
        return EXIT_USAGE
    import json
    import subprocess
    import tempfile

    name = kit_backend(backend, url, _parse_options(pairs))
    package, source, include = _package_of(get_backend_class(name))
    # The async twins run the backend's code in greenlets; coverage must follow them.
    concurrency = "thread,greenlet" if _driver_installed("greenlet") else "thread"
    with tempfile.TemporaryDirectory(prefix="rhosocial-coverage-") as tmp:
        data_file = os.path.join(tmp, "coverage")
        code = subprocess.call([
            sys.executable, "-m", "coverage", "run", "--branch",
            f"--source={','.join(source)}" if source else f"--include={','.join(include)}",
            f"--concurrency={concurrency}", f"--data-file={data_file}",
            "-m", "rhosocial.activerecord", "check", backend, *pairs, *(["--url", url] if url else []),
            "--", *pytest_args,
        ])
        measured = coverage.Coverage(data_file=data_file, branch=True, source=source or None,
                                     include=include or None)
        measured.load()
        print()
        try:
            measured.report(show_missing=True)
            measured.json_report(outfile=os.path.join(tmp, "coverage.json"))
        except coverage.exceptions.NoDataError:
            print(f"{name}: no coverage data for {package}: the kit's run never imported it")
            return code or EXIT_FAILED
        with open(os.path.join(tmp, "coverage.json"), encoding="utf-8") as handle:
            totals = json.load(handle)["totals"]
    statements, branches = totals["num_statements"], totals["num_branches"]
    lines = _percent(totals["covered_lines"], statements)
    print(f"{name}: coverage of {package}: {lines}% of lines, "
          f"{_percent(totals['covered_branches'], branches)}% of branches "
          f"({statements} statements, {totals['missing_lines']} missing; "
          f"{branches} branches, {totals['missing_branches']} missing)")
    if fail_under is not None and float(lines) < fail_under:
        print(f"{name}: line coverage {lines}% is under --coverage-fail-under {fail_under:g}")
        return code or EXIT_FAILED
    return code


def check(backend: str, url: str | None, pairs: Sequence[str], pytest_args: Sequence[str],
          coverage: bool = False, fail_under: float | None = None) -> int:
    """Run the conformance kit against ``backend`` and print a summary; return the exit code.

    With ``coverage`` (or ``fail_under``), also report the line and branch
    coverage of the backend's own package by the run (needs coverage.py, which
    pytest-cov installs); ``fail_under`` fails the run below that percentage
    of lines.
    """
    if coverage or fail_under is not None:
        return _check_with_coverage(backend, url, pairs, pytest_args, fail_under)
    import pytest

    from .testing import conformance

    name = kit_backend(backend, url, _parse_options(pairs))
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


EXIT_FAILED, EXIT_USAGE, EXIT_LINT, EXIT_LOCK = 1, 2, 3, 4


class _Usage(Exception):
    """Settings are missing or wrong (exit code 2)."""


def _project_settings() -> dict[str, Any]:
    import tomllib

    path = os.path.join(os.getcwd(), "pyproject.toml")
    if not os.path.isfile(path):
        return {}
    with open(path, "rb") as handle:
        tool = tomllib.load(handle).get("tool", {})
    found = tool.get("rhosocial", {}).get("activerecord", {})
    return found if isinstance(found, dict) else {}


def _database(args: Any) -> Any:
    from .config import backend_from_settings

    url = getattr(args, "url", None) or os.environ.get("DATABASE_URL") or _project_settings().get("url")
    if not url:
        raise _Usage("no database: pass --url URL or set DATABASE_URL")
    return backend_from_settings(url=url)


def _models_of(args: Any, required: bool = True) -> list[str]:
    given = getattr(args, "models", None) or os.environ.get("RHOSOCIAL_MODELS") or _project_settings().get("models")
    if not given:
        if required:
            raise _Usage("no models: pass --models MODULE, set RHOSOCIAL_MODELS, or set models in "
                         "[tool.rhosocial.activerecord] of pyproject.toml")
        return []
    names = given if isinstance(given, list) else [part for part in str(given).replace(",", " ").split() if part]
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return names


def _directory(args: Any) -> str:
    return getattr(args, "dir", None) or _project_settings().get("migrations") or "migrations"


def _renames(pairs: Sequence[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or ():
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise _Usage(f"--rename takes OLD=NEW (TABLE.OLD=NEW for a column), got {pair!r}")
        out[old] = new
    return out


def _schema_command(args: Any) -> int:
    """Run one of the migration commands; return the exit code."""
    from . import migration
    from .backend.alter import MigrationLockTimeout

    if args.command == "new":
        print(migration.new_migration(_directory(args), args.name))
        return 0
    backend = _database(args)
    try:
        if args.command == "inspect":
            source = migration.models_source(backend, args.tables or None)
            if args.output:
                with open(args.output, "w", encoding="utf-8") as handle:
                    handle.write(source)
                print(f"wrote {args.output}")
            else:
                sys.stdout.write(source)
            return 0
        if args.command == "schema-check":
            differences = migration.check_schema(backend, _models_of(args), _renames(args.rename))
            if not differences:
                print("The database matches the models.")
                return 0
            print(f"The database differs from the models ({len(differences)}):")
            for line in differences:
                print(f"  {line}")
            return EXIT_FAILED
        if args.command == "makemigrations":
            path = migration.make_migrations(backend, _models_of(args), _directory(args), args.name,
                                             _renames(args.rename))
            print(f"wrote {path}" if path else "No changes: the database matches the models.")
            return 0
        model_names = _models_of(args, required=False)
        runner = migration.Migrator(backend, _directory(args), lock_timeout=getattr(args, "lock_timeout", None),
                                    models=migration.load_models(model_names) if model_names else ())
        if args.command == "migrate":
            runner.migrate(args.target, strict=args.strict)
        elif args.command == "rollback":
            runner.rollback(args.steps)
        else:
            states = runner.status()
            if not states:
                print(f"No migrations in {_directory(args)}.")
            for state in states:
                extra = (f" ({state.operations_done} of {len(state.migration.operations)} operations)"
                         if state.state == "partial" else "")
                print(f"{state.state:<8} {state.migration.id}{extra}")
        return 0
    except migration.LintError:
        return EXIT_LINT
    except MigrationLockTimeout as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOCK
    except (migration.MigrationError, DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        backend.disconnect()


def _add_schema_commands(sub: Any) -> None:
    def connected(name: str, text: str) -> Any:
        command = sub.add_parser(name, help=text, description=text)
        command.add_argument("--url", help="database URL (default: $DATABASE_URL)")
        return command

    new = sub.add_parser("new", help="write an empty migration file")
    new.add_argument("name", help="what the migration does, e.g. 'add user age'")
    new.add_argument("--dir", help="migrations directory (default: migrations)")
    make = connected("makemigrations", "write a migration that makes the database match the models")
    make.add_argument("--name", default="auto", help="the migration's name (default: auto)")
    for command in (make, connected("schema-check", "exit 0 if the database matches the models, else 1 with a diff")):
        command.add_argument("--models", help="module or package of the models (default: $RHOSOCIAL_MODELS)")
        command.add_argument("--rename", action="append", metavar="OLD=NEW",
                             help="a renamed table (OLD=NEW) or column (TABLE.OLD=NEW); repeatable")
        if command is make:
            command.add_argument("--dir", help="migrations directory (default: migrations)")
    migrate = connected("migrate", "apply pending migrations (up to TARGET)")
    migrate.add_argument("target", nargs="?", help="the last migration to apply (id or number)")
    migrate.add_argument("--strict", action="store_true", help="refuse to run when lint finds risky operations")
    rollback = connected("rollback", "undo the last N applied migrations")
    rollback.add_argument("steps", nargs="?", type=int, default=1)
    status = connected("status", "list migrations: applied, partial or pending")
    for command in (migrate, rollback, status):
        command.add_argument("--dir", help="migrations directory (default: migrations)")
        command.add_argument("--models", help="models, so lint can flag columns they still use")
        command.add_argument("--lock-timeout", type=float, default=None,
                             help="seconds to wait for another run's lock (default: wait)")
    inspect = connected("inspect", "print model code for the tables of an existing database")
    inspect.add_argument("--tables", nargs="*", help="only these tables")
    inspect.add_argument("--output", help="write to this file instead of standard output")


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
    run.add_argument("--coverage", action="store_true",
                     help="report the line and branch coverage of the backend's package (needs pytest-cov)")
    run.add_argument("--coverage-fail-under", type=float, metavar="PCT",
                     help="exit 1 when the line coverage is below PCT (implies --coverage)")
    bench = sub.add_parser("bench", help="time the standard workloads on a backend, models against raw SQL")
    bench.add_argument("backend", help="a registered backend name, or package.module:Class")
    bench.add_argument("--url", help="database URL to run in (the tables it creates are dropped)")
    bench.add_argument("--rows", type=int, default=None, help="rows per workload (default: 2000)")
    bench.add_argument("--repeat", type=int, default=None, help="timed rounds, the median reported (default: 5)")
    bench.add_argument("--json", dest="json_file", help="also write the measurements to this file")
    bench.add_argument("options", nargs="*", help="connection settings as key=value")
    _add_schema_commands(sub)
    argv = list(argv)
    cut = argv.index("--") if "--" in argv and argv[:1] == ["check"] else len(argv)
    args = parser.parse_args(argv[:cut])
    if args.command == "backends":
        print(list_backends())
        return 0
    if args.command == "bench":
        from .testing.bench import command

        name = kit_backend(args.backend, args.url, _parse_options(args.options))
        return command(name, rows=args.rows, repeat=args.repeat, json_file=args.json_file)
    if args.command != "check":
        try:
            return _schema_command(args)
        except _Usage as exc:
            parser.error(str(exc))
    return check(args.backend, args.url, args.options, argv[cut + 1:], args.coverage, args.coverage_fail_under)
