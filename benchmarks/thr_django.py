"""Threads benchmark: Django's ORM configured standalone (no project, no app module).

Django keeps one connection per thread; ``CONN_MAX_AGE=None`` keeps it open
for the thread's life (persistent connections), and each thread calls
``connections.close_all()`` when it ends. The model lives in an ad-hoc app
label with ``managed = False`` (the harness creates the table).

MariaDB: Django's backend is written for mysqlclient (``MySQLdb``), a C
extension that builds only against the MariaDB/MySQL client headers. Without
it this module installs PyMySQL as ``MySQLdb`` (``pymysql.install_as_MySQLdb()``),
which Django accepts: Django 5.2 checks ``MySQLdb.version_info >= (1, 4, 3)``,
and PyMySQL reports a mysqlclient-compatible ``version_info`` (1.2.4 says
2.2.8); an older PyMySQL that reports less gets (1, 4, 3) to pass the check.
``DRIVER`` tells the report which driver ran.

Django reads its settings once per process, so one process benchmarks one
database (``threads.py`` runs each database in its own process).
"""
from __future__ import annotations

from typing import Any

from common import Database

TABLE = "bench_thr_django"
DRIVER = ""
_model: Any = None


def mysql_driver() -> str:
    """Make ``import MySQLdb`` work: mysqlclient if installed, else PyMySQL under that name."""
    try:
        import MySQLdb  # noqa: F401  (mysqlclient)

        return "mysqlclient"
    except ImportError:
        pass
    import pymysql

    if pymysql.version_info < (1, 4, 3):
        pymysql.version_info = (1, 4, 3, "final", 0)
    pymysql.install_as_MySQLdb()
    return (f"PyMySQL {pymysql.VERSION_STRING} as MySQLdb (install_as_MySQLdb(), "
            f"reports mysqlclient {pymysql.__version__})")


def database_settings(db: Database) -> dict[str, Any]:
    if db.kind == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": db.path, "CONN_MAX_AGE": None,
                "OPTIONS": {"timeout": 30}}
    engine = "postgresql" if db.kind == "postgres" else "mysql"
    options = {"charset": "utf8mb4"} if db.kind == "mysql" else {}
    return {"ENGINE": f"django.db.backends.{engine}", "NAME": db.database, "USER": db.user,
            "PASSWORD": db.password, "HOST": db.host, "PORT": str(db.port), "CONN_MAX_AGE": None,
            "OPTIONS": options}


def _configure(db: Database) -> Any:
    """Configure Django for ``db`` once per process and define the model."""
    global DRIVER, _model
    import django
    from django.conf import settings

    if _model is not None:
        if settings.DATABASES["default"]["ENGINE"] != database_settings(db)["ENGINE"]:
            raise RuntimeError("Django is configured for another database in this process")
        return _model
    if db.kind == "mysql":
        DRIVER = mysql_driver()
    settings.configure(DATABASES={"default": database_settings(db)}, INSTALLED_APPS=[], USE_TZ=False,
                       DEBUG=False, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField")
    django.setup()
    from django.db import models

    class DUser(models.Model):
        name = models.CharField(max_length=100)
        email = models.CharField(max_length=255)
        age = models.BigIntegerField()
        score = models.BigIntegerField()

        class Meta:
            app_label = "bench_thr"
            db_table = TABLE
            managed = False

    _model = DUser
    return DUser


class Worker:
    """Uses this thread's Django connection (opened on the first query)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.objects = model.objects

    def find(self, pk: int) -> Any:
        return self.objects.get(pk=pk)

    def update(self, pk: int, score: int) -> int:
        user = self.objects.get(pk=pk)
        old = user.score
        user.score = score
        user.save(update_fields=["score"])  # one UPDATE of the changed column, as Django's docs advise
        return old

    def create(self, name: str, email: str, age: int, score: int) -> int:
        return self.objects.create(name=name, email=email, age=age, score=score).pk

    def close(self) -> None:
        from django.db import connections

        connections.close_all()


class Library:
    key = "django"
    name = "Django"

    def __init__(self, db: Database, threads: int) -> None:
        self.db, self.threads = db, threads
        self.note = ""

    def setup(self) -> None:
        self.model = _configure(self.db)
        self.note = "a persistent connection per thread (CONN_MAX_AGE=None)"
        if DRIVER:
            self.note += f"; {DRIVER}"

    def worker(self) -> Worker:
        return Worker(self.model)

    def teardown(self) -> None:
        from django.db import connections

        connections.close_all()
