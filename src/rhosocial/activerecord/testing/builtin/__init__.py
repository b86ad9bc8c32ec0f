"""Providers for the built-in backends."""
from . import sqlite  # noqa: F401

for _name in ("postgres", "mysql"):
    try:
        __import__(f"{__name__}.{_name}")
    except ImportError:  # not written yet, or its module is missing
        pass
