"""rhosocial ActiveRecord: an ActiveRecord ORM with pluggable database backends."""
from __future__ import annotations

from .backend import create_backend, register_backend
from .config import configure, get_default_backend
from .errors import (
    ActiveRecordError,
    AsyncLazyLoadError,
    DeleteRestrictedError,
    ModelDefinitionError,
    MultipleRecordsFound,
    RecordInvalid,
    RecordNotFound,
    StaleObjectError,
    StrictLoadingError,
    UnloadedFieldError,
    ReadOnlyRecordError,
    UnsafeQueryError,
)
from .model import (
    ActiveRecord,
    ColumnOptions,
    Errors,
    Field,
    FieldType,
    OptimisticLockMixin,
    SoftDeleteMixin,
    TimestampMixin,
    UUIDPrimaryKeyMixin,
    register_type,
    scope,
    validates,
)
from .query import Query, case, cast, exists, func, literal, range_between, raw, rows_between, table, tuple_
from .relation import belongs_to, has_many, has_one, many_to_many

__all__ = [
    "DeleteRestrictedError", "belongs_to", "has_many", "has_one", "many_to_many",
    "ActiveRecord", "ActiveRecordError", "AsyncLazyLoadError", "ColumnOptions", "Field", "FieldType", "ModelDefinitionError",
    "MultipleRecordsFound", "OptimisticLockMixin", "Query", "RecordInvalid", "RecordNotFound", "StaleObjectError",
    "SoftDeleteMixin", "StrictLoadingError", "TimestampMixin", "UUIDPrimaryKeyMixin", "UnsafeQueryError", "ReadOnlyRecordError", "configure", "create_backend", "exists", "func",
    "get_default_backend", "raw", "register_backend", "register_type", "scope",
    "Errors", "validates", "case", "cast", "literal", "range_between", "rows_between", "table", "tuple_",
]
__version__ = "0.1.0"
