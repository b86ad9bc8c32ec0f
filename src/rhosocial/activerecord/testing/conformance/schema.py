"""Schema operations on every backend: create, inspect, index and drop tables."""
from __future__ import annotations

import pytest

from rhosocial.activerecord.backend import (
    CheckViolationError,
    ColumnDef,
    ColumnInfo,
    DatabaseType,
    NotSupportedError,
    ProgrammingError,
    UniqueViolationError,
)
from rhosocial.activerecord.backend.helpers import base_type_name

from ..capability import requires
from .utils import count, id_column, run, sql

TYPE_PARAMS = {
    DatabaseType.CHAR: {"length": 10},
    DatabaseType.VARCHAR: {"length": 20},
    DatabaseType.DECIMAL: {"precision": 10, "scale": 2},
    DatabaseType.ARRAY: {"item_type": DatabaseType.INTEGER},
}

COMMON_TYPES = [
    (DatabaseType.INTEGER, {}),
    (DatabaseType.BIGINT, {}),
    (DatabaseType.VARCHAR, {"length": 40}),
    (DatabaseType.TEXT, {}),
    (DatabaseType.DATE, {}),
    (DatabaseType.DECIMAL, {"precision": 12, "scale": 3}),
]


def mapped_types(backend):
    """Every DatabaseType the backend's dialect can spell, with sizing parameters."""
    found = []
    for db_type in DatabaseType:
        params = TYPE_PARAMS.get(db_type, {})
        try:
            backend.dialect.get_column_type(db_type, **params)
        except NotSupportedError:
            continue
        found.append((db_type, params))
    return found


class TestSchema:
    """Create, inspect, index and drop tables."""

    def test_create_table_with_every_mapped_type(self, backend):
        types = mapped_types(backend)
        assert len(types) >= 15, "a backend maps nearly every generic type"
        columns = [ColumnDef(f"c_{t.value}", t, **p) for t, p in types]
        backend.create_table("all_types", columns)
        assert [c.name for c in backend.get_columns("all_types")] == [c.name for c in columns]
        # A row of NULLs fits every column.
        run(backend, "INSERT INTO {t} ({c}) VALUES (?)", [None], t="all_types", c=columns[0].name)
        assert count(backend, "all_types") == 1

    def test_table_exists_before_and_after(self, backend):
        assert backend.table_exists("things") is False
        backend.create_table("things", [id_column()])
        assert backend.table_exists("things") is True
        backend.drop_table("things")
        assert backend.table_exists("things") is False

    def test_if_not_exists(self, backend):
        backend.create_table("things", [id_column()])
        backend.create_table("things", [id_column()], if_not_exists=True)
        with pytest.raises(ProgrammingError):
            backend.create_table("things", [id_column()])

    def test_drop_if_exists(self, backend):
        backend.drop_table("never_made", if_exists=True)
        with pytest.raises(ProgrammingError):
            backend.drop_table("never_made")

    def test_get_columns_is_structured_and_in_table_order(self, backend):
        backend.create_table("shaped", [
            id_column(),
            ColumnDef("title", DatabaseType.VARCHAR, length=40, nullable=False),
            ColumnDef("body", DatabaseType.TEXT),
            ColumnDef("score", DatabaseType.INTEGER, nullable=False, default=7),
        ])
        columns = backend.get_columns("shaped")
        assert all(isinstance(c, ColumnInfo) for c in columns)
        assert [c.name for c in columns] == ["id", "title", "body", "score"]
        by_name = {c.name: c for c in columns}
        assert by_name["id"].primary_key is True and by_name["id"].nullable is False
        assert by_name["title"].primary_key is False and by_name["title"].nullable is False
        assert by_name["body"].nullable is True
        assert by_name["score"].default is not None
        assert all(isinstance(c.type, str) and c.type for c in columns)

    @pytest.mark.parametrize("db_type, params", COMMON_TYPES, ids=[t.name for t, _ in COMMON_TYPES])
    def test_get_columns_round_trips_common_types(self, backend, db_type, params):
        backend.create_table("typed", [ColumnDef("v", db_type, **params)])
        (info,) = backend.get_columns("typed")
        if info.db_type is not db_type:
            # Allowed only where the database keeps no difference (DuckDB's VARCHAR has no length).
            spell = backend.dialect.get_column_type
            assert info.db_type is not None
            assert base_type_name(spell(info.db_type)) == base_type_name(spell(db_type, **params))

    def test_get_columns_of_a_missing_table_is_empty(self, backend):
        assert backend.get_columns("never_made") == []

    def test_defaults_are_applied(self, backend):
        backend.create_table("defaults", [
            id_column(),
            ColumnDef("label", DatabaseType.VARCHAR, length=20, default="it's"),
            ColumnDef("n", DatabaseType.INTEGER, default=5),
            ColumnDef("flag", DatabaseType.BOOLEAN, default=True),
            ColumnDef("nothing", DatabaseType.INTEGER),
        ])
        run(backend, "INSERT INTO {t} ({n}) VALUES (?)", [5], t="defaults", n="n")
        row = backend.fetch_one(sql(backend, "SELECT {l}, {n}, {f}, {x} FROM {t}", l="label", n="n",
                                    f="flag", x="nothing", t="defaults"),
                                column_types={"flag": DatabaseType.BOOLEAN})
        assert row == {"label": "it's", "n": 5, "flag": True, "nothing": None}

    def test_default_values_insert(self, backend):
        backend.create_table("only_defaults", [id_column(), ColumnDef("n", DatabaseType.INTEGER,
                                                                      default=3)])
        backend.execute(backend.dialect.insert_sql("only_defaults", []))
        backend.execute(backend.dialect.insert_sql("only_defaults", []))
        rows = run(backend, "SELECT {id}, {n} FROM {t} ORDER BY {id}", None, id="id", n="n",
                   t="only_defaults").rows
        assert rows == [(1, 3), (2, 3)]

    def test_autoincrement_assigns_increasing_keys(self, backend):
        backend.create_table("auto", [id_column(), ColumnDef("v", DatabaseType.INTEGER)])
        for v in range(3):
            run(backend, "INSERT INTO {t} ({v}) VALUES (?)", [v], t="auto", v="v")
        ids = [r[0] for r in run(backend, "SELECT {id} FROM {t} ORDER BY {id}", None, id="id",
                                 t="auto").rows]
        assert ids == [1, 2, 3]

    def test_composite_primary_key(self, backend):
        backend.create_table("pairs", [
            ColumnDef("a", DatabaseType.INTEGER, primary_key=True),
            ColumnDef("b", DatabaseType.INTEGER, primary_key=True),
        ])
        insert = sql(backend, "INSERT INTO {t} ({a}, {b}) VALUES (?, ?)", t="pairs", a="a", b="b")
        backend.execute(insert, [1, 1])
        backend.execute(insert, [1, 2])
        with pytest.raises(UniqueViolationError):
            backend.execute(insert, [1, 1])
        assert [c.primary_key for c in backend.get_columns("pairs")] == [True, True]

    def test_unique_column(self, backend):
        backend.create_table("uniq", [ColumnDef("code", DatabaseType.VARCHAR, length=10, unique=True)])
        insert = sql(backend, "INSERT INTO {t} ({c}) VALUES (?)", t="uniq", c="code")
        backend.execute(insert, ["a"])
        backend.execute(insert, [None])
        backend.execute(insert, [None])  # NULLs are not equal to each other
        with pytest.raises(UniqueViolationError):
            backend.execute(insert, ["a"])

    def test_create_index_and_unique_index(self, backend):
        backend.create_table("indexed", [id_column(), ColumnDef("email", DatabaseType.VARCHAR, length=50),
                                         ColumnDef("city", DatabaseType.VARCHAR, length=50)])
        backend.create_index("indexed", ["city"])
        backend.create_index("indexed", ["city"], if_not_exists=True)
        backend.create_index("indexed", ["email"], name="ix_email_unique", unique=True)
        insert = sql(backend, "INSERT INTO {t} ({e}, {c}) VALUES (?, ?)", t="indexed", e="email",
                     c="city")
        backend.execute(insert, ["a@x", "Paris"])
        backend.execute(insert, ["b@x", "Paris"])  # plain index allows duplicates
        with pytest.raises(UniqueViolationError):
            backend.execute(insert, ["a@x", "Rome"])

    def test_create_table_with_index_lists(self, backend):
        backend.create_table("listed", [ColumnDef("a", DatabaseType.INTEGER),
                                        ColumnDef("b", DatabaseType.INTEGER)],
                             indexes=[["a"]], unique_indexes=[["a", "b"]])
        insert = sql(backend, "INSERT INTO {t} ({a}, {b}) VALUES (?, ?)", t="listed", a="a", b="b")
        backend.execute(insert, [1, 1])
        backend.execute(insert, [1, 2])
        with pytest.raises(UniqueViolationError):
            backend.execute(insert, [1, 2])

    def test_columns_as_a_mapping(self, backend):
        backend.create_table("mapped", {
            "id": ColumnDef("id", DatabaseType.INTEGER, primary_key=True),
            "name": {"db_type": DatabaseType.VARCHAR, "length": 10, "nullable": False},
            "n": DatabaseType.BIGINT,
        })
        columns = backend.get_columns("mapped")
        assert [c.name for c in columns] == ["id", "name", "n"]
        assert columns[1].nullable is False

    def test_bad_column_specs_are_rejected(self, backend):
        with pytest.raises(TypeError):
            backend.create_table("bad", {"x": 42})
        with pytest.raises(ValueError):
            backend.create_table("bad", [])
        assert not backend.table_exists("bad")

    def test_table_level_constraints(self, backend):
        requires(backend, "supports_check_constraints")
        q = backend.dialect.quote_identifier
        backend.create_table("ranges", [ColumnDef("lo", DatabaseType.INTEGER),
                                        ColumnDef("hi", DatabaseType.INTEGER)],
                             constraints=[f"CHECK ({q('lo')} <= {q('hi')})"])
        insert = sql(backend, "INSERT INTO {t} ({l}, {h}) VALUES (?, ?)", t="ranges", l="lo", h="hi")
        backend.execute(insert, [1, 2])
        with pytest.raises(CheckViolationError):
            backend.execute(insert, [3, 2])
