"""Values survive a write and a read exactly, by generic column type.

Values are bound as parameters and read back with ``column_types``, the way
the model layer does it. Backend differences are gated on capability flags.
"""
from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal

import pytest

from rhosocial.activerecord.backend import ColumnDef, DatabaseType, DataError

from ..capability import requires
from .utils import run, sql

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
ONE_MB = 1024 * 1024
_tables = itertools.count(1)


def roundtrip(backend, db_type, value, **column):
    """Store ``value`` in a fresh ``db_type`` column and return what reads back."""
    table = f"vals_{next(_tables)}"
    backend.create_table(table, [
        ColumnDef("id", DatabaseType.INTEGER, primary_key=True),
        ColumnDef("v", db_type, **column),
    ])
    run(backend, "INSERT INTO {t} ({id}, {v}) VALUES (?, ?)", [1, value], t=table, id="id", v="v")
    result = backend.execute(sql(backend, "SELECT {v} FROM {t} WHERE {id} = ?", v="v", t=table,
                                 id="id"), [1], column_types={"v": db_type})
    return result.scalar()


class TestTypeRoundTrips:
    """Store and read back a value of every generic type exactly."""

    @pytest.mark.parametrize("value", [0, 1, -1, INT64_MIN, INT64_MAX, 2**31, -(2**31) - 1])
    def test_bigint(self, backend, value):
        got = roundtrip(backend, DatabaseType.BIGINT, value)
        assert got == value and type(got) is int

    @pytest.mark.parametrize("db_type, value", [
        (DatabaseType.INTEGER, 2**31 - 1),
        (DatabaseType.INTEGER, -(2**31)),
        (DatabaseType.SMALLINT, -32768),
        (DatabaseType.SMALLINT, 32767),
        (DatabaseType.TINYINT, 127),
    ])
    def test_small_integers(self, backend, db_type, value):
        assert roundtrip(backend, db_type, value) == value

    @pytest.mark.parametrize("value", [0.0, 1.5, -0.1, 1e300, -2.2250738585072014e-308, 1 / 3])
    def test_double(self, backend, value):
        got = roundtrip(backend, DatabaseType.DOUBLE, value)
        assert got == value and isinstance(got, float)

    @pytest.mark.parametrize("value", [
        Decimal("12345678901234567890.123456789"),
        Decimal("-12345678901234567890.123456789"),
        Decimal("0.000000001"),
        Decimal("0E-9"),
        Decimal("1.100000000"),
    ])
    def test_decimal_38_9(self, backend, value):
        got = roundtrip(backend, DatabaseType.DECIMAL, value, precision=38, scale=9)
        assert isinstance(got, Decimal)
        assert got == value

    @pytest.mark.parametrize("value", [True, False])
    def test_boolean(self, backend, value):
        assert roundtrip(backend, DatabaseType.BOOLEAN, value) is value

    @pytest.mark.parametrize("value", [
        "",
        "plain",
        "😀𝄞",
        "mixed: é 表 😀 𝄞 \u200b \t\r\n end",
        "'quoted' \"double\" `back` \\ %s ? $1",
    ])
    def test_text_and_varchar(self, backend, value):
        assert roundtrip(backend, DatabaseType.TEXT, value) == value
        assert roundtrip(backend, DatabaseType.VARCHAR, value, length=100) == value

    def test_astral_characters_count_as_one_each_in_varchar(self, backend):
        value = "😀𝄞" * 5  # 10 characters, 40 bytes in UTF-8
        assert roundtrip(backend, DatabaseType.VARCHAR, value, length=10) == value

    def test_one_megabyte_of_text(self, backend):
        value = ("0123456789abcdé😀" * (ONE_MB // 16 + 1))[:ONE_MB]
        got = roundtrip(backend, DatabaseType.TEXT, value)
        assert len(got) == ONE_MB and got == value

    def test_nul_in_text(self, backend):
        value = "before\x00after"
        if backend.capabilities.supports_nul_in_text:
            assert roundtrip(backend, DatabaseType.TEXT, value) == value
        else:
            with pytest.raises(DataError):
                roundtrip(backend, DatabaseType.TEXT, value)

    def test_every_byte_value(self, backend):
        value = bytes(range(256))
        got = roundtrip(backend, DatabaseType.BLOB, value)
        assert isinstance(got, bytes) and got == value

    def test_one_megabyte_blob(self, backend):
        value = bytes(range(256)) * (ONE_MB // 256)
        got = roundtrip(backend, DatabaseType.BLOB, value)
        assert isinstance(got, bytes) and got == value

    def test_empty_blob_is_not_null(self, backend):
        assert roundtrip(backend, DatabaseType.BLOB, b"") == b""

    @pytest.mark.parametrize("value", [
        dt.date(2024, 2, 29), dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(1970, 1, 1),
    ])
    def test_date(self, backend, value):
        got = roundtrip(backend, DatabaseType.DATE, value)
        assert got == value and type(got) is dt.date

    @pytest.mark.parametrize("value", [
        dt.time(0, 0), dt.time(23, 59, 59, 999999), dt.time(12, 30, 15, 123456),
    ])
    def test_time(self, backend, value):
        got = roundtrip(backend, DatabaseType.TIME, value)
        assert got == value and isinstance(got, dt.time)

    @pytest.mark.parametrize("value", [
        dt.datetime(2024, 2, 29, 23, 59, 59, 999999),
        dt.datetime(2000, 1, 1),
        dt.datetime(1999, 12, 31, 12, 0, 0, 1),
    ])
    def test_naive_datetime(self, backend, value):
        got = roundtrip(backend, DatabaseType.DATETIME, value)
        assert got == value
        assert got.tzinfo is None

    @pytest.mark.parametrize("offset", [
        dt.timedelta(hours=5, minutes=30), dt.timedelta(hours=-8), dt.timedelta(0),
        dt.timedelta(hours=13, minutes=45),
    ])
    def test_aware_timestamp_is_the_same_instant(self, backend, offset):
        value = dt.datetime(2024, 3, 10, 1, 30, 15, 250000, tzinfo=dt.timezone(offset))
        got = roundtrip(backend, DatabaseType.TIMESTAMP, value)
        assert got.tzinfo is not None, "an instant must come back timezone-aware"
        assert got == value  # aware datetimes compare as instants
        assert got.astimezone(dt.UTC) == value.astimezone(dt.UTC)

    def test_uuid(self, backend):
        value = uuid.uuid4()
        got = roundtrip(backend, DatabaseType.UUID, value)
        assert got == value and isinstance(got, uuid.UUID)

    @pytest.mark.parametrize("value", [
        {"name": "Zoë", "tags": ["表", "😀"], "n": 1, "f": 1.5, "ok": True, "none": None},
        [1, "two", {"three": [3]}, None, False],
        {"nested": {"deep": {"deeper": ["x" * 10]}}, "quote": "'\"\\"},
        [],
        {},
    ])
    def test_json(self, backend, value):
        requires(backend, "supports_json")
        got = roundtrip(backend, DatabaseType.JSON, value)
        assert got == value and type(got) is type(value)

    @pytest.mark.parametrize("db_type, column", [
        (DatabaseType.INTEGER, {}), (DatabaseType.BIGINT, {}), (DatabaseType.DOUBLE, {}),
        (DatabaseType.DECIMAL, {"precision": 10, "scale": 2}), (DatabaseType.VARCHAR, {"length": 5}),
        (DatabaseType.TEXT, {}), (DatabaseType.BLOB, {}), (DatabaseType.BOOLEAN, {}),
        (DatabaseType.DATE, {}), (DatabaseType.TIME, {}), (DatabaseType.DATETIME, {}),
        (DatabaseType.TIMESTAMP, {}), (DatabaseType.UUID, {}), (DatabaseType.JSON, {}),
    ])
    def test_null_stays_null(self, backend, db_type, column):
        assert roundtrip(backend, db_type, None, **column) is None

    def test_values_in_where_clauses_match_what_was_stored(self, backend):
        """A bound value of each type finds the row it was stored in."""
        values = {
            "d": (DatabaseType.DATE, dt.date(2024, 1, 2)),
            "u": (DatabaseType.UUID, uuid.UUID("12345678-1234-5678-1234-567812345678")),
            "m": (DatabaseType.DECIMAL, Decimal("10.50")),
            "b": (DatabaseType.BOOLEAN, True),
        }
        columns = [ColumnDef("id", DatabaseType.INTEGER, primary_key=True)]
        columns += [ColumnDef(name, t, **({"precision": 10, "scale": 2} if name == "m" else {}))
                    for name, (t, _) in values.items()]
        backend.create_table("where_vals", columns)
        run(backend, "INSERT INTO {t} ({id}, {d}, {u}, {m}, {b}) VALUES (?, ?, ?, ?, ?)",
            [1] + [v for _, v in values.values()], t="where_vals", id="id", d="d", u="u", m="m", b="b")
        for name, (_, value) in values.items():
            found = backend.fetch_value(
                sql(backend, "SELECT {id} FROM {t} WHERE {c} = ?", id="id", t="where_vals", c=name),
                [value])
            assert found == 1, name

    @pytest.mark.parametrize("value", [2**63, -(2**63) - 1])
    def test_out_of_range_integer_is_a_data_error(self, backend, value):
        with pytest.raises(DataError) as info:
            roundtrip(backend, DatabaseType.BIGINT, value)
        assert info.value.__cause__ is not None
