"""The model layer: ``ActiveRecord``, fields, events and mixins."""
from .base import ActiveRecord, scope
from .fields import ColumnOptions, Field
from .types import FieldType, TypeRegistry, register_type
from .validation import Errors, validates

__all__ = ["ActiveRecord", "ColumnOptions", "Errors", "Field", "FieldType", "TypeRegistry", "register_type", "scope",
           "validates"]

from .mixins import OptimisticLockMixin, SoftDeleteMixin, TimestampMixin, UUIDPrimaryKeyMixin  # noqa: E402

__all__ += ["OptimisticLockMixin", "SoftDeleteMixin", "TimestampMixin", "UUIDPrimaryKeyMixin"]
