"""A short tour of the backend layer on SQLite (the model-level tour replaces this)."""
from rhosocial.activerecord.backend import ColumnDef, DatabaseType, UniqueViolationError, create_backend

backend = create_backend("sqlite", database=":memory:")
backend.create_table("users", [
    ColumnDef("id", DatabaseType.INTEGER, autoincrement=True),
    ColumnDef("name", DatabaseType.VARCHAR, length=100, nullable=False, unique=True),
])
backend.execute("INSERT INTO users (name) VALUES (?)", ["alice"])
try:
    with backend.transaction():
        backend.execute("INSERT INTO users (name) VALUES (?)", ["bob"])
        backend.execute("INSERT INTO users (name) VALUES (?)", ["alice"])
except UniqueViolationError as exc:
    print("rolled back:", exc.message)
print(backend.fetch_all("SELECT id, name FROM users"))
