"""What deleting an owner does to its associations (``dependent=`` and join rows)."""

from __future__ import annotations

from typing import Any

from .associations import Association


def dependents(model: type) -> tuple[Association, ...]:
    """Return the associations of ``model`` that act when one of its records is deleted."""
    return model.metadata().dependents  # type: ignore[attr-defined]


def has_dependents(model: type) -> bool:
    """Return whether deleting a ``model`` record touches other rows first."""
    return bool(dependents(model))


def delete_dependents(record: Any) -> None:
    """Check every ``restrict`` first, then destroy, delete or nullify the dependents."""
    found = dependents(type(record))
    for assoc in found:
        assoc.check_restrict(record)
    for assoc in found:
        assoc.delete_dependents(record)
