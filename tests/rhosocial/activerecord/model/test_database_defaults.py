"""Database defaults and computed columns: left out of writes, the database's values read back."""
from __future__ import annotations

import datetime as dt
from typing import Optional

import pytest

from rhosocial.activerecord import ActiveRecord, Field, ModelDefinitionError, raw
from rhosocial.activerecord.backend import ColumnDef, DataError, DatabaseType, SQLDefault


class Ticket(ActiveRecord):
    __tablename__ = "defaults_tickets"
    id: Optional[int] = None
    title: str = Field(max_length=40)
    status: str = Field(max_length=10, db_default="open")
    opened_at: dt.datetime = Field(db_default=raw("CURRENT_TIMESTAMP"))
    priority: int = Field(db_default=3)
    note: Optional[str] = Field(None, max_length=40, db_default="none")


class Line(ActiveRecord):
    __tablename__ = "defaults_lines"
    id: Optional[int] = None
    quantity: int
    unit_cents: int
    total_cents: int = Field(db_generated="quantity * unit_cents")


def test_unset_fields_take_the_database_default_and_read_it_back(bind, backend):
    bind(Ticket)
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)  # a datetime field is aware
    t = Ticket.create(title="first")
    assert (t.status, t.priority, t.note) == ("open", 3, "none")
    assert isinstance(t.opened_at, dt.datetime) and t.opened_at >= before
    stored = Ticket.find(t.id)
    assert (stored.status, stored.priority, stored.note, stored.opened_at) == ("open", 3, "none", t.opened_at)


def test_values_the_user_gives_are_written_even_none(bind, backend):
    bind(Ticket)
    t = Ticket.create(title="given", status="closed", priority=1, note=None,
                      opened_at=dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    stored = Ticket.find(t.id)
    assert (stored.status, stored.priority, stored.note, stored.opened_at) == (
        "closed", 1, None, dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))


def test_insert_many_leaves_unset_fields_to_the_database(bind, backend):
    bind(Ticket)
    assert Ticket.insert_many([{"title": "a"}, {"title": "b", "priority": 9}, Ticket(title="c")]) == 3
    rows = {t.title: (t.status, t.priority) for t in Ticket.all()}
    assert rows == {"a": ("open", 3), "b": ("open", 9), "c": ("open", 3)}


def test_defaults_of_a_table_made_elsewhere_are_found_in_the_catalog(backend):
    backend.create_table("defaults_legacy", [
        ColumnDef("id", DatabaseType.INTEGER, primary_key=True, autoincrement=True),
        ColumnDef("name", DatabaseType.VARCHAR, length=20, nullable=False),
        ColumnDef("created_at", DatabaseType.DATETIME, nullable=False, default=SQLDefault("CURRENT_TIMESTAMP")),
        ColumnDef("kind", DatabaseType.VARCHAR, length=10, nullable=False, default="plain"),
    ])

    class Legacy(ActiveRecord):  # declares no defaults: the table has them
        __tablename__ = "defaults_legacy"
        id: Optional[int] = None
        name: str
        created_at: Optional[dt.datetime] = None
        kind: Optional[str] = None

    Legacy.configure(backend)
    row = Legacy.create(name="x")
    assert row.kind == "plain" and isinstance(row.created_at, dt.datetime)
    assert Legacy.find(row.id).kind == "plain"


def test_computed_columns_are_never_written_and_follow_their_inputs(bind, backend):
    bind(Line)
    line = Line.create(quantity=3, unit_cents=250)
    assert line.total_cents == 750
    line.quantity = 4
    line.save()
    assert line.total_cents == 1000 and Line.find(line.id).total_cents == 1000
    line.total_cents = 1
    with pytest.raises(DataError, match=r"Line\.total_cents is computed by the database"):
        line.save()
    assert Line.find(line.id).total_cents == 1000
    assert Line.insert_many([{"quantity": 2, "unit_cents": 5}]) == 1
    assert Line.where(quantity=2).one().total_cents == 10


def test_bad_database_default_declarations_are_refused():
    with pytest.raises(ModelDefinitionError, match="both db_default and db_generated"):
        Field(db_default=1, db_generated="a + 1")
    with pytest.raises(ModelDefinitionError, match="literal value or raw"):
        Field(db_default=object())
    with pytest.raises(ModelDefinitionError, match="cannot have parameters"):
        Field(db_default=raw("?", 1))
    with pytest.raises(ModelDefinitionError, match="db_generated"):
        Field(db_generated="")


def test_without_returning_the_values_are_read_back_by_key(backend):
    """Where INSERT cannot return values (MySQL, SQLite before 3.35) they are selected by key."""
    import dataclasses

    backend.connect()
    if not backend.capabilities.reports_last_insert_id:
        pytest.skip(f"{backend.name} learns new keys only through RETURNING")
    backend._capabilities = dataclasses.replace(backend.capabilities, supports_returning=False)

    class Plain(ActiveRecord):
        __tablename__ = "defaults_plain"
        id: Optional[int] = None
        name: str = Field(max_length=10)
        kind: str = Field(max_length=10, db_default="plain")
        doubled: int = Field(db_generated="length(name) * 2")

    Plain.configure(backend)
    Plain.create_table()
    with backend.capture_statements() as statements:
        row = Plain.create(name="abc")
    assert (row.kind, row.doubled) == ("plain", 6) and row.id is not None
    assert not any("RETURNING" in s for s in statements)
    assert sum(s.lstrip().upper().startswith("SELECT") for s in statements) == 1


def test_computed_columns_of_a_table_made_elsewhere_are_found_in_the_catalog(backend):
    q = backend.dialect.quote_identifier
    backend.execute(
        f"CREATE TABLE {q('defaults_found')} ({q('id')} INTEGER PRIMARY KEY, {q('qty')} INTEGER NOT NULL, "
        f"{q('price')} INTEGER NOT NULL, {q('total')} INTEGER GENERATED ALWAYS AS ({q('qty')} * {q('price')}) STORED)")
    assert [c.generated for c in backend.get_columns("defaults_found")] == [False, False, False, True]

    class Found(ActiveRecord):  # declares nothing about total: the catalog says it is computed
        __tablename__ = "defaults_found"
        id: int
        qty: int
        price: int
        total: Optional[int] = None

    Found.configure(backend)
    row = Found.create(id=1, qty=2, price=21)
    assert row.total == 42
    row.qty = 3
    row.save()
    assert row.total == 63 and Found.find(1).total == 63
    assert Found.insert_many([{"id": 2, "qty": 1, "price": 5}]) == 1 and Found.find(2).total == 5


def test_threads_making_the_first_writes_at_once_all_get_the_database_values(backend):
    from rhosocial.activerecord.testing.threads import run_threads

    q = backend.dialect.quote_identifier
    backend.execute(
        f"CREATE TABLE {q('defaults_race')} ({q('id')} INTEGER PRIMARY KEY, {q('qty')} INTEGER NOT NULL, "
        f"{q('kind')} VARCHAR(10) DEFAULT 'plain' NOT NULL, "
        f"{q('twice')} INTEGER GENERATED ALWAYS AS ({q('qty')} * 2) STORED)")

    class Race(ActiveRecord):
        __tablename__ = "defaults_race"
        id: int
        qty: int
        kind: Optional[str] = None
        twice: Optional[int] = None

    Race.configure(backend)
    rows = run_threads(lambda i: Race.create(id=i + 1, qty=i), 8, timeout=60)
    assert [(r.kind, r.twice) for r in rows] == [("plain", 2 * i) for i in range(8)]
    assert sorted(Race.query().pluck("twice")) == [2 * i for i in range(8)]


def test_an_insert_a_trigger_skipped_is_an_error_not_a_saved_record(bind, backend):
    from rhosocial.activerecord.backend import DatabaseError

    bind(Ticket)
    q = backend.dialect.quote_identifier
    if backend.name == "sqlite":
        backend.execute(f"CREATE TRIGGER skip_tickets BEFORE INSERT ON {q('defaults_tickets')} "
                        "BEGIN SELECT RAISE(IGNORE); END")
    elif backend.name == "postgres":
        backend.execute("CREATE OR REPLACE FUNCTION skip_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
        backend.execute(f"CREATE TRIGGER skip_tickets BEFORE INSERT ON {q('defaults_tickets')} "
                        "FOR EACH ROW EXECUTE FUNCTION skip_row()")
    else:
        pytest.skip(f"{backend.name}: a trigger cannot skip a row silently")
    ticket = Ticket(title="skipped")
    with pytest.raises(DatabaseError, match="returned no row"):
        ticket.save()
    assert ticket.id is None and Ticket.count() == 0
    plain = Ticket(title="given", status="x", priority=1, note=None, opened_at=dt.datetime.now(dt.timezone.utc))
    with pytest.raises(DatabaseError, match="stored no row"):  # every field given: the plain INSERT
        plain.save()
    assert plain.id is None and plain.is_new_record


def test_postgres_identity_columns_besides_the_key_are_filled_in(backend):
    if backend.name != "postgres":
        pytest.skip("identity columns are PostgreSQL's")
    backend.execute('CREATE TABLE "defaults_identity" (id INTEGER PRIMARY KEY, '
                    'ticket BIGINT GENERATED BY DEFAULT AS IDENTITY, serial BIGINT GENERATED ALWAYS AS IDENTITY)')

    class Numbered(ActiveRecord):
        __tablename__ = "defaults_identity"
        id: int
        ticket: Optional[int] = None
        serial: Optional[int] = None

    Numbered.configure(backend)
    first, second = Numbered.create(id=1), Numbered.create(id=2, ticket=50)
    assert (first.ticket, first.serial) == (1, 1) and (second.ticket, second.serial) == (50, 2)
    second.ticket = 51
    second.save()
    assert Numbered.find(2).ticket == 51


def test_a_delete_before_the_first_insert_still_learns_the_tables_defaults(backend):
    backend.create_table("defaults_order", [
        ColumnDef("id", DatabaseType.INTEGER, primary_key=True, autoincrement=True),
        ColumnDef("name", DatabaseType.VARCHAR, length=20, nullable=False),
        ColumnDef("status", DatabaseType.VARCHAR, length=10, nullable=False, default="new"),
    ])
    q = backend.dialect.quote_identifier
    backend.execute(f"INSERT INTO {q('defaults_order')} ({q('name')}) VALUES ('old')")

    class Ordered(ActiveRecord):
        __tablename__ = "defaults_order"
        id: Optional[int] = None
        name: str
        status: Optional[str] = None

    Ordered.configure(backend)
    assert Ordered.where(name="old").one().delete()  # asks the catalog whether the key is the table's
    assert Ordered.create(name="x").status == "new"


def test_insert_many_keeps_the_order_it_was_given(bind, backend):
    bind(Ticket)
    Ticket.insert_many([{"title": "1"}, {"title": "2", "status": "done"}, {"title": "3"},
                        {"title": "4", "status": "done"}])
    assert Ticket.query().order_by("id").pluck("title", "status") == [
        ("1", "open"), ("2", "done"), ("3", "open"), ("4", "done")]


def test_a_rolled_back_insert_leaves_the_record_new_and_a_later_save_fills_it_in_again(bind, backend):
    bind(Ticket, Line)
    ticket, line = Ticket(title="undone"), Line(quantity=2, unit_cents=3)
    with pytest.raises(RuntimeError):
        with backend.transaction():
            ticket.save()
            line.save()
            assert ticket.id is not None and line.total_cents == 6
            raise RuntimeError("roll back")
    assert ticket.is_new_record and ticket.id is None and line.is_new_record and line.id is None
    assert Ticket.count() == 0 and Line.count() == 0
    ticket.save()
    line.save()
    assert Ticket.find(ticket.id).status == "open" and Line.find(line.id).total_cents == 6
