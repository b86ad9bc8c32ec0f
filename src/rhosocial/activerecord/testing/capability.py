"""Gate tests on capability flags: a missing feature skips, a claimed one must work."""
from __future__ import annotations

from typing import Any

import pytest

from ..backend.base import StorageBackend
from ..backend.capabilities import Capabilities
from ..backend.typing import IsolationLevel


def missing(capabilities: Capabilities, *flags: str) -> list[str]:
    """Return the flags among ``flags`` that ``capabilities`` does not claim.

    A flag is a boolean field of :class:`Capabilities` (``"supports_returning"``)
    or an isolation level name (``"SERIALIZABLE"``), which is claimed when the
    level is in ``capabilities.isolation_levels``.
    """
    absent = []
    for flag in flags:
        if flag in IsolationLevel.__members__:
            if IsolationLevel[flag] not in capabilities.isolation_levels:
                absent.append(flag)
            continue
        if not hasattr(capabilities, flag):
            raise ValueError(f"Unknown capability flag {flag!r}")
        if not getattr(capabilities, flag):
            absent.append(flag)
    return absent


def requires(backend: StorageBackend, *flags: str) -> None:
    """Skip the running test unless ``backend`` claims every flag; the reason names the flag."""
    absent = missing(backend.capabilities, *flags)
    if absent:
        pytest.skip(f"{backend.name}: {', '.join(absent)} is false")


def requires_marker(*flags: str) -> Any:
    """Return ``pytest.mark.requires(*flags)``, checked by the kit's ``backend`` fixture."""
    return pytest.mark.requires(*flags)
