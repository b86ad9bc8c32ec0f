"""Django's ORM configured standalone, for bulk_writes.py: ``bulk_create`` upserts and ``bulk_update``.

The settings and the MariaDB driver (PyMySQL as ``MySQLdb`` unless
mysqlclient is installed) are thr_django.py's. Django reads its settings once
per process, so one process benchmarks one database (``bulk_writes.py`` runs
each database in its own process). The model lives in an ad-hoc app label
with ``managed = False``: the harness creates the table.
"""
from __future__ import annotations

from typing import Any

from common import TABLE, Database

IMPORTS = "django.db.models"
BULK_UPDATE_BATCH = 1000  # rows per UPDATE, as rhosocial's and peewee's


def _configure(db: Database) -> tuple[Any, str]:
    """Configure Django for ``db`` (once per process); return the model and the MariaDB driver used."""
    import django
    import thr_django
    from django.conf import settings

    if settings.configured:
        raise RuntimeError("Django is configured already in this process (one database per process)")
    driver = thr_django.mysql_driver() if db.kind == "mysql" else ""
    settings.configure(DATABASES={"default": thr_django.database_settings(db)}, INSTALLED_APPS=[],
                       USE_TZ=False, DEBUG=False, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField")
    django.setup()
    from django.db import models

    class DUser(models.Model):
        name = models.CharField(max_length=100)
        email = models.CharField(max_length=255, unique=True)
        age = models.BigIntegerField()
        created_at = models.DateTimeField()
        score = models.FloatField()
        active = models.BooleanField()

        class Meta:
            app_label = "bench_bulk"
            db_table = TABLE
            managed = False

    return DUser, driver


class Library:
    name = "Django"
    key = "django"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.imports = IMPORTS
        self.model: Any = None
        self.note = ""

    def open(self) -> None:
        if self.model is None:
            self.model, driver = _configure(self.db)
            self.note = driver

    def close(self) -> None:
        from django.db import connections

        connections.close_all()

    # -- bulk writes -------------------------------------------------------------

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        """``bulk_create(update_conflicts=True)``; MySQL names no conflict target (``unique_fields``)."""
        model = self.model
        target = {} if self.db.kind == "mysql" else {"unique_fields": ["email"]}
        model.objects.bulk_create([model(**row) for row in rows], update_conflicts=True,
                                  update_fields=["name", "age"], **target)

    def prepare_bulk_update(self, values: dict[int, tuple[int, float]]) -> list[Any]:
        users = list(self.model.objects.all())
        for user in users:
            user.age, user.score = values[user.id]
        return users

    def bulk_update(self, users: list[Any]) -> None:
        """``bulk_update(objs, fields, batch_size)``: Django's docs advise a batch size for many rows
        (the CASE grows with the batch), so it gets the others' 1,000 (SQLite caps it at 249:
        999 parameters). Django runs the batches in one transaction."""
        self.model.objects.bulk_update(users, ["age", "score"], batch_size=BULK_UPDATE_BATCH)
