"""Statement logging: DEBUG records with timing on one logger, silent by default."""
from __future__ import annotations

import logging

from .utils import make_people, run

LOGGER = "rhosocial.activerecord.backend"


def ours(caplog):
    return [r for r in caplog.records if r.name == LOGGER]


class TestStatementLogging:
    """Log statements at DEBUG with timing, and nothing by default."""

    def test_statements_are_logged_at_debug_with_timing(self, backend, caplog):
        make_people(backend)
        caplog.set_level(logging.DEBUG, logger=LOGGER)
        query = "SELECT 1"
        backend.execute(query)
        run(backend, "SELECT {n} FROM {t} WHERE {n} = ?", ["ada"], n="name", t="people")
        records = ours(caplog)
        messages = [r.getMessage() for r in records]
        assert any(m.startswith(query) and m.endswith("ms)") for m in messages), messages
        assert any("'ada'" in m for m in messages), "parameters are logged with the statement"
        assert all(r.levelno == logging.DEBUG for r in records)

    def test_execute_many_is_logged_with_its_set_count(self, backend, caplog):
        make_people(backend)
        caplog.set_level(logging.DEBUG, logger=LOGGER)
        backend.execute_many(
            backend.dialect.insert_sql("people", ["name"]), [("a",), ("b",), ("c",)])
        assert any("[3 parameter sets]" in r.getMessage() for r in ours(caplog))

    def test_silent_by_default(self, backend, caplog, capsys):
        caplog.set_level(logging.WARNING)
        make_people(backend)
        backend.execute("SELECT 1")
        with backend.transaction():
            backend.execute("SELECT 2")
        assert ours(caplog) == []
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == ""
