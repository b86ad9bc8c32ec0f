"""Run test code in several threads at once, with a deadline: a hang fails instead of blocking."""
from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def run_threads(target: Callable[[int], T], count: int, *, timeout: float = 60.0) -> list[T]:
    """Run ``target(i)`` for ``i`` in ``range(count)``, each in its own thread, started together.

    Returns the results in thread order.

    Raises:
        AssertionError: a thread was still running after ``timeout`` seconds
            (the message holds the stuck threads' stacks).
        ExceptionGroup: one or more threads raised; every exception is in it.
    """
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException | None] = [None] * count

    def body(index: int) -> None:
        try:
            barrier.wait(timeout)
            results[index] = target(index)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            errors[index] = exc

    threads = [threading.Thread(target=body, args=(i,), name=f"rhosocial-test-{i}", daemon=True)
               for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t for t in threads if t.is_alive()]
    if stuck:
        frames = sys._current_frames()
        stacks = "\n".join(
            f"--- {t.name}\n" + "".join(traceback.format_stack(frames[t.ident])) for t in stuck
            if t.ident in frames
        )
        raise AssertionError(f"{len(stuck)} of {count} threads still running after {timeout:g}s:\n{stacks}")
    failed = [e for e in errors if e is not None]
    if failed:
        raise ExceptionGroup(f"{len(failed)} of {count} threads failed", [
            e if isinstance(e, Exception) else RuntimeError(repr(e)) for e in failed])
    return results
