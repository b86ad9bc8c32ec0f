"""After os.fork() the child opens its own connections and the parent's keep working.

A pre-forking server (gunicorn, uwsgi, multiprocessing) configures the ORM,
may use it, then forks. A child that used an inherited connection would
interleave its protocol with the parent's on one socket; one that closed it
would end the parent's session on the server.
"""
from __future__ import annotations

import os
import sys
import time
import traceback

import pytest

from rhosocial.activerecord.testing import requires
from rhosocial.activerecord.testing.conformance.utils import insert_person, make_people, names

SESSION_SQL = {"postgres": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")


def identity(backend) -> tuple[int, int | None]:
    """The driver connection object this thread gets, and its server session if there is one."""
    with backend.connection() as connection:
        sql = SESSION_SQL.get(backend.name)
        return id(connection), (int(backend.fetch_value(sql)) if sql else None)


def wait_for_child(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError(f"the forked child did not finish within {timeout}s")


def test_a_forked_child_uses_its_own_connections(backend):
    requires(backend, "supports_multiple_connections")
    make_people(backend)
    insert_person(backend, "parent-before")
    parent = identity(backend)
    assert backend.pool.stats().idle == 1  # the child inherits an idle pooled connection
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            child = identity(backend)
            insert_person(backend, "child")
            assert names(backend) == ["child", "parent-before"]
            # a new driver connection, and a new server session where there are sessions
            new_session = child[1] is None or child[1] != parent[1]
            code = 0 if child[0] != parent[0] and new_session else 3
            backend.disconnect()  # closing the child's own connections leaves the parent's alone
        except BaseException:  # noqa: BLE001 - the child must never return into pytest
            traceback.print_exc(file=sys.stderr)
        finally:
            os._exit(code)
    assert wait_for_child(pid, 60) == 0, "the child reused or broke an inherited connection"
    # The parent's pooled connection survived: same object, same server session.
    assert identity(backend) == parent
    insert_person(backend, "parent-after")
    assert names(backend) == ["child", "parent-after", "parent-before"]
