"""Run async test code with a deadline: a hang (even one that blocks the event loop) fails."""
from __future__ import annotations

import asyncio
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(main: Callable[[], Awaitable[T]], *, timeout: float = 60.0) -> T:
    """Run ``asyncio.run(main())`` on a thread of its own and return its result.

    Raises:
        AssertionError: it was still running after ``timeout`` seconds (the
            message holds the loop thread's stack); a blocked loop is caught too.
        BaseException: whatever ``main()`` raised.
    """
    box: list[Any] = []

    async def bounded() -> T:
        return await asyncio.wait_for(main(), timeout)

    def body() -> None:
        try:
            box.append((asyncio.run(bounded()), None))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box.append((None, exc))

    thread = threading.Thread(target=body, name="rhosocial-test-loop", daemon=True)
    thread.start()
    thread.join(timeout + 10)
    if thread.is_alive():
        frame = sys._current_frames().get(thread.ident or 0)
        stack = "".join(traceback.format_stack(frame)) if frame else "(no stack)"
        raise AssertionError(f"the event loop was still running after {timeout:g}s:\n{stack}")
    value, error = box[0]
    if error is not None:
        raise error
    return value  # type: ignore[no-any-return, unused-ignore]
