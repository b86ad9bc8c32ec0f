"""The backend kit's performance step: the standard workloads, through models and through raw SQL.

:func:`run_benchmarks` runs each workload on a connected backend twice per
round: through the model layer as an application writes it, and as the
same statements through the backend's own ``execute`` (its baseline). The
two sides alternate which goes first, every run starts from the same table
state (set up untimed), and every run's result is checked, so a fast wrong
answer fails instead of winning. It reports the median of ``repeat``
rounds per side, the model layer's overhead over the baseline, and that
overhead per statement in microseconds.

``python -m rhosocial.activerecord bench NAME`` prints the table for any
installed backend; a backend package's own benchmark script calls
:func:`run_benchmarks` and :func:`format_table`.
"""
from __future__ import annotations

import json
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..model.base import ActiveRecord
from ..model.fields import Field
from ..relation import belongs_to, has_many

if TYPE_CHECKING:
    from ..backend.base import StorageBackend

PEOPLE = "kit_bench_people"
POSTS = "kit_bench_posts"
MEMBERS = "kit_bench_members"
POSTS_PER_PERSON = 3
THREADS = 4


class BenchPerson(ActiveRecord):
    __tablename__ = PEOPLE
    name: str = Field(max_length=40)
    email: str = Field(max_length=80)
    age: int
    score: float
    active: bool
    posts = has_many("BenchPost", foreign_key="person_id")


class BenchPost(ActiveRecord):
    __tablename__ = POSTS
    person_id: int
    title: str = Field(max_length=80)
    person = belongs_to("BenchPerson", foreign_key="person_id")


class BenchMember(ActiveRecord):
    """The upsert workload's table: rows keyed by a unique email."""

    __tablename__ = MEMBERS
    email: str = Field(max_length=80, unique=True)
    score: float


@dataclass
class Measurement:
    """One workload's result: median seconds per side (``None`` when skipped)."""

    workload: str
    description: str
    statements: int = 0  # statements one run of the model side sends
    orm_seconds: float | None = None
    raw_seconds: float | None = None
    skipped: str | None = None  # why the workload did not run on this backend

    @property
    def overhead(self) -> float | None:
        """Model-side time over raw time (1.0: no overhead)."""
        if self.orm_seconds is None or not self.raw_seconds:
            return None
        return self.orm_seconds / self.raw_seconds

    @property
    def per_statement_us(self) -> float | None:
        """The model layer's extra time per statement, in microseconds."""
        if self.orm_seconds is None or self.raw_seconds is None or not self.statements:
            return None
        return (self.orm_seconds - self.raw_seconds) / self.statements * 1e6

    def as_dict(self) -> dict[str, Any]:
        """The measurement with its derived figures, for JSON."""
        return {**asdict(self), "overhead": self.overhead, "per_statement_us": self.per_statement_us}


#: A workload: its setup (untimed), the model side, the raw side, and the check of a run's result.
Workload = tuple[Callable[[], Any], Callable[[], Any], Callable[[], Any], Callable[[Any], None]]


class BenchmarkFailed(AssertionError):
    """A workload's result was wrong: its timing means nothing."""


# -- the workloads -----------------------------------------------------------------


def _person(i: int) -> dict[str, Any]:
    return {"name": f"person {i}", "email": f"p{i}@example.com", "age": 18 + i % 60, "score": i / 4,
            "active": i % 3 != 0}


_COLUMNS = ("name", "email", "age", "score", "active")


class _Workloads:
    """Each workload: ``setup`` (untimed), the two sides, and the check of a run's result."""

    def __init__(self, backend: "StorageBackend", rows: int) -> None:
        self.b = backend
        self.rows = rows
        self.few = max(1, min(rows, 500))  # record-by-record workloads
        q = backend.dialect.quote_identifier
        self.q = q
        self.cols = ", ".join(q(c) for c in _COLUMNS)
        marks = ", ".join("?" for _ in _COLUMNS)
        self.sql = {
            "insert": f"INSERT INTO {q(PEOPLE)} ({self.cols}) VALUES ({marks})",
            "select_all": f"SELECT {q('id')}, {self.cols} FROM {q(PEOPLE)}",
            "by_key": f"SELECT {q('id')}, {self.cols} FROM {q(PEOPLE)} WHERE {q('id')} = ?",
            "filtered": (f"SELECT {q('id')}, {self.cols} FROM {q(PEOPLE)} WHERE {q('age')} >= ? AND "
                         f"{q('active')} = ? ORDER BY {q('id')}{backend.dialect.limit_offset_sql(20, None)}"),
            "update": f"UPDATE {q(PEOPLE)} SET {q('score')} = ? WHERE {q('id')} = ?",
            "delete": f"DELETE FROM {q(PEOPLE)} WHERE {q('id')} = ?",
            "count": f"SELECT COUNT(*) FROM {q(PEOPLE)}",
            "score_sum": f"SELECT SUM({q('score')}) FROM {q(PEOPLE)}",
            "insert_post": f"INSERT INTO {q(POSTS)} ({q('person_id')}, {q('title')}) VALUES (?, ?)",
            "limited_people": (f"SELECT {q('id')}, {self.cols} FROM {q(PEOPLE)} ORDER BY {q('id')}"
                               f"{backend.dialect.limit_offset_sql(max(1, rows // 10), None)}"),
        }
        convert = backend.dialect.convert_placeholders
        self.sql = {k: convert(v) for k, v in self.sql.items()}
        self.ids: list[int] = []

    # state --------------------------------------------------------------------------

    def _raw(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        return self.b.execute(sql, params)

    def empty(self) -> None:
        self._raw(f"DELETE FROM {self.q(POSTS)}")
        self._raw(f"DELETE FROM {self.q(PEOPLE)}")

    def seeded(self, with_posts: bool = False) -> None:
        self.empty()
        rows = [_person(i) for i in range(self.rows)]
        self.b.execute_many(self.sql["insert"], [[r[c] for c in _COLUMNS] for r in rows])
        ids = self._raw(f"SELECT {self.q('id')} FROM {self.q(PEOPLE)} ORDER BY {self.q('id')}").rows
        self.ids = [int(r[0]) for r in ids]
        if with_posts:
            posts = [(pid, f"post {pid}.{k}") for pid in self.ids[:max(1, self.rows // 10)]
                     for k in range(POSTS_PER_PERSON)]
            self.b.execute_many(self.sql["insert_post"], posts)

    def count(self) -> int:
        return int(self._raw(self.sql["count"]).rows[0][0])

    def expect(self, what: str, got: Any, wanted: Any) -> None:
        if got != wanted:
            raise BenchmarkFailed(f"{what}: got {got!r}, expected {wanted!r}")

    # the workloads: (setup, orm, raw, check(result)) ---------------------------------

    def create_in_transaction(self) -> Workload:
        people = [_person(i) for i in range(self.rows)]

        def orm() -> None:
            with BenchPerson.transaction():
                for attrs in people:
                    BenchPerson.create(**attrs)

        def raw() -> None:
            with self.b.transaction():
                for attrs in people:
                    self._raw(self.sql["insert"], [attrs[c] for c in _COLUMNS])

        return self.empty, orm, raw, lambda _: self.expect("rows saved", self.count(), self.rows)

    def _chunked(self, make_sql: Callable[[int], str], rows: list[list[Any]]) -> None:
        """Rows sent as multi-row statements, as many rows each as the bind limit allows."""
        width = len(rows[0])
        per = max(1, self.b.capabilities.max_bind_parameters // width)
        for start in range(0, len(rows), per):
            part = rows[start:start + per]
            self._raw(make_sql(len(part)), [v for row in part for v in row])

    def bulk_insert(self) -> Workload:
        people = [_person(i) for i in range(self.rows)]
        dialect = self.b.dialect

        def orm() -> None:
            BenchPerson.insert_many(people)

        def raw() -> None:
            self._chunked(lambda n: dialect.insert_rows_sql(PEOPLE, _COLUMNS, n),
                          [[r[c] for c in _COLUMNS] for r in people])

        return self.empty, orm, raw, lambda _: self.expect("rows inserted", self.count(), self.rows)

    def load_all(self) -> Workload:
        def check(result: Any) -> None:
            self.expect("rows loaded", len(result), self.rows)
            first = min(result, key=lambda r: r.id if isinstance(r, BenchPerson) else r[0])
            name = first.name if isinstance(first, BenchPerson) else first[1]
            self.expect("first name", name, "person 0")

        return (self.seeded, lambda: BenchPerson.query().all(),
                lambda: self._raw(self.sql["select_all"]).rows, check)

    def find_by_key(self) -> Workload:
        def orm() -> list[str]:
            return [BenchPerson.find(i).name for i in self.ids]

        def raw() -> list[str]:
            return [self._raw(self.sql["by_key"], [i]).rows[0][1] for i in self.ids]

        return self.seeded, orm, raw, lambda names: self.expect(
            "names found", names, [f"person {n}" for n in range(self.rows)])

    def filtered_queries(self) -> Workload:
        ages = [18 + k % 60 for k in range(100)]

        def orm() -> int:
            return sum(len(BenchPerson.where(BenchPerson.c.age >= a, active=True).order_by("id").limit(20).all())
                       for a in ages)

        def raw() -> int:
            return sum(len(self._raw(self.sql["filtered"], [a, True]).rows) for a in ages)

        expected = sum(min(20, sum(1 for i in range(self.rows) if 18 + i % 60 >= a and i % 3 != 0)) for a in ages)
        return self.seeded, orm, raw, lambda total: self.expect("rows matched", total, expected)

    def load_change_save(self) -> Workload:
        def orm() -> None:
            for i in self.ids[:self.few]:
                person = BenchPerson.find(i)
                person.score = person.score + 1
                person.save()

        def raw() -> None:
            for i in self.ids[:self.few]:
                row = self._raw(self.sql["by_key"], [i]).rows[0]
                self._raw(self.sql["update"], [row[4] + 1, i])

        def check(_: Any) -> None:
            total = float(self._raw(self.sql["score_sum"]).rows[0][0])
            self.expect("scores after saving", total, sum(i / 4 for i in range(self.rows)) + self.few)

        return self.seeded, orm, raw, check

    def load_delete(self) -> Workload:
        def orm() -> None:
            for i in self.ids[:self.few]:
                BenchPerson.find(i).delete()

        def raw() -> None:
            for i in self.ids[:self.few]:
                self._raw(self.sql["by_key"], [i])
                self._raw(self.sql["delete"], [i])

        return self.seeded, orm, raw, lambda _: self.expect("rows left", self.count(), self.rows - self.few)

    def eager_to_many(self) -> Workload:
        owners = max(1, self.rows // 10)
        per = max(1, self.b.capabilities.max_bind_parameters - 1)

        q = self.q

        def posts_of(count: int) -> str:
            marks = ", ".join("?" for _ in range(count))
            return self.b.dialect.convert_placeholders(
                f"SELECT {q('id')}, {q('person_id')}, {q('title')} FROM {q(POSTS)} WHERE {q('person_id')} IN ({marks})")

        def orm() -> int:
            people = BenchPerson.query().order_by("id").limit(owners).includes("posts").all()
            return sum(len(p.posts) for p in people)

        def raw() -> int:
            people = self._raw(self.sql["limited_people"]).rows
            keys = [r[0] for r in people]
            found = 0
            for start in range(0, len(keys), per):
                part = keys[start:start + per]
                found += len(self._raw(posts_of(len(part)), part).rows)
            return found

        return (lambda: self.seeded(with_posts=True), orm, raw,
                lambda n: self.expect("posts loaded", n, owners * POSTS_PER_PERSON))

    def upsert(self) -> Workload:
        q = self.q
        members = [{"email": f"m{i}@example.com", "score": float(i)} for i in range(self.rows)]
        changed = [{**m, "score": -1.0} for m in members]
        dialect = self.b.dialect

        def setup() -> None:
            self._raw(f"DELETE FROM {q(MEMBERS)}")
            half = [[m["email"], m["score"]] for m in members[::2]]
            self._chunked(lambda n: dialect.insert_rows_sql(MEMBERS, ("email", "score"), n), half)

        def orm() -> None:
            BenchMember.upsert_all(changed, unique_by="email", update=["score"])

        def raw() -> None:
            self._chunked(lambda n: dialect.upsert_rows_sql(MEMBERS, ("email", "score"), n, ["email"], ["score"]),
                          [[m["email"], m["score"]] for m in changed])

        def check(_: Any) -> None:
            rows = self._raw(f"SELECT COUNT(*), SUM({q('score')}) FROM {q(MEMBERS)}").rows[0]
            self.expect("rows, scores after the upsert", (int(rows[0]), float(rows[1])),
                        (self.rows, -1.0 * self.rows))

        return setup, orm, raw, check

    def concurrent_finds(self) -> Workload:
        def in_threads(find: Callable[[int], str]) -> list[str]:
            out: list[list[str]] = [[] for _ in range(THREADS)]
            errors: list[BaseException] = []

            def work(t: int) -> None:
                try:
                    out[t] = [find(i) for i in self.ids[t::THREADS]]
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(300)
            if errors or any(t.is_alive() for t in threads):
                raise BenchmarkFailed(f"a thread failed or hung: {errors[:1]!r}")
            return sorted(n for part in out for n in part)

        def orm() -> list[str]:
            return in_threads(lambda i: BenchPerson.find(i).name)

        def raw() -> list[str]:
            return in_threads(lambda i: self._raw(self.sql["by_key"], [i]).rows[0][1])

        return self.seeded, orm, raw, lambda names: self.expect(
            "names found", names, sorted(f"person {n}" for n in range(self.rows)))


#: (name, description, capability flags it needs).
WORKLOADS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("create_in_transaction", "N single-row saves in one transaction", ("supports_transactions",)),
    ("bulk_insert", "insert_many of N rows", ()),
    ("load_all", "load N rows as records", ()),
    ("find_by_key", "N lookups by primary key", ()),
    ("filtered_queries", "100 filtered, ordered, limited queries", ()),
    ("load_change_save", "load, change and save min(N, 500) records", ()),
    ("load_delete", "load and delete min(N, 500) records", ()),
    ("eager_to_many", "N/10 records with includes() of a to-many association", ()),
    ("upsert", "upsert_all of N rows by a unique key", ("supports_upsert",)),
    ("concurrent_finds", f"N lookups by key from {THREADS} threads", ("supports_multiple_connections",)),
)


def run_benchmarks(backend: "StorageBackend", rows: int = 2000, repeat: int = 5,
                   workloads: Sequence[str] | None = None) -> list[Measurement]:
    """Time the standard workloads on a connected ``backend``; return one :class:`Measurement` each.

    The kit's tables (``kit_bench_people``, ``kit_bench_posts``) are
    created, and dropped afterwards. ``workloads`` picks some by name
    (default: all of :data:`WORKLOADS`); one the backend's capabilities rule
    out comes back with ``skipped`` saying which flag. Raises
    :class:`BenchmarkFailed` when a run's result is wrong.
    """
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows must be a positive integer, got {rows!r}")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a positive integer, got {repeat!r}")
    chosen = [w for w in WORKLOADS if workloads is None or w[0] in workloads]
    unknown = set(workloads or ()) - {w[0] for w in WORKLOADS}
    if unknown:
        raise ValueError(f"Unknown workloads: {', '.join(sorted(unknown))}; known: "
                         f"{', '.join(w[0] for w in WORKLOADS)}")
    models: tuple[type[ActiveRecord], ...] = (BenchPerson, BenchPost, BenchMember)
    previous = [m.__dict__.get("__backend__") for m in models]
    for model in models:
        model.configure(backend)
    for model in models:
        model.drop_table(if_exists=True)
        model.create_table()
    try:
        kit = _Workloads(backend, rows)
        return [_measure(backend, kit, name, text, flags, repeat) for name, text, flags in chosen]
    finally:
        for model in reversed(models):
            model.drop_table(if_exists=True)
        for model, before in zip(models, previous):
            type.__setattr__(model, "__backend__", before)


def _measure(backend: "StorageBackend", kit: _Workloads, name: str, text: str, flags: tuple[str, ...],
             repeat: int) -> Measurement:
    absent = [f for f in flags if not getattr(backend.capabilities, f)]
    if absent:
        return Measurement(name, text, skipped=f"{', '.join(absent)} is false")
    setup, orm, raw, check = getattr(kit, name)()
    times: dict[str, list[float]] = {"orm": [], "raw": []}
    sides = {"orm": orm, "raw": raw}
    statements = 0
    for round_ in range(repeat + 1):  # round 0 warms up, untimed, and counts the model side's statements
        order = ("orm", "raw") if round_ % 2 == 0 else ("raw", "orm")
        for side in order:
            setup()
            if round_ == 0 and side == "orm":
                with backend.capture_statements() as sent:
                    result = sides[side]()
                statements = len(sent)
            else:
                start = time.perf_counter()
                result = sides[side]()
                elapsed = time.perf_counter() - start
                if round_:
                    times[side].append(elapsed)
            try:
                check(result)
            except BenchmarkFailed as exc:
                raise BenchmarkFailed(f"{name} ({side}): {exc}") from None
    return Measurement(name, text, statements, statistics.median(times["orm"]), statistics.median(times["raw"]))


def format_table(measurements: Sequence[Measurement], title: str = "") -> str:
    """The measurements as a text table: seconds per side, overhead, microseconds per statement."""
    header = ["workload", "statements", "rhosocial s", "raw s", "overhead", "us/statement"]
    body = []
    for m in measurements:
        if m.skipped:
            body.append([m.workload, "-", "-", "-", "-", f"skipped: {m.skipped}"])
            continue
        body.append([m.workload, str(m.statements), f"{m.orm_seconds:.4f}", f"{m.raw_seconds:.4f}",
                     f"{m.overhead:.2f}x" if m.overhead is not None else "-",
                     f"{m.per_statement_us:.1f}" if m.per_statement_us is not None else "-"])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [title] if title else []
    for row in [header, ["-" * w for w in widths], *body]:
        lines.append("  ".join(cell.ljust(w) if i in (0, 5) else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths))).rstrip())
    return "\n".join(lines)


def command(name: str, rows: int | None = None, repeat: int | None = None, json_file: str | None = None) -> int:
    """``python -m rhosocial.activerecord bench NAME``: run, print the table, optionally write JSON."""
    from .provider import ProviderUnavailable, get_provider

    rows = 2000 if rows is None else rows
    repeat = 5 if repeat is None else repeat
    provider = get_provider(name)
    try:
        provider.setup_session()
    except ProviderUnavailable as exc:
        print(f"{name}: cannot reach its database: {exc}")
        return 2
    try:
        backend = provider.create_backend()
        backend.connect()
        try:
            version = ".".join(str(p) for p in backend.capabilities.server_version) or "?"
            measurements = run_benchmarks(backend, rows=rows, repeat=repeat)
        finally:
            provider.reset(backend)
    except BenchmarkFailed as exc:
        print(f"{name}: a workload gave a wrong result, so its timing means nothing: {exc}")
        return 1
    finally:
        provider.teardown_session()
    print(format_table(measurements, f"{name} {version}: {rows} rows, median of {repeat} interleaved rounds"))
    if json_file:
        with open(json_file, "w", encoding="utf-8") as out:
            json.dump({"backend": name, "server_version": version, "rows": rows, "repeat": repeat,
                       "measurements": [m.as_dict() for m in measurements]}, out, indent=2)
    return 0
