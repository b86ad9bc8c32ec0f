"""rhosocial ActiveRecord: an ActiveRecord ORM with pluggable database backends."""
from __future__ import annotations

from .backend import create_backend, register_backend
from .config import configure, get_default_backend

__all__ = ["configure", "create_backend", "get_default_backend", "register_backend"]
__version__ = "0.1.0"
