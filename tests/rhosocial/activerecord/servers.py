"""Private PostgreSQL and MariaDB servers for tests that freeze, kill or restart them.

The shared servers of a machine (PostgreSQL on 5432, MariaDB on 3306) must never
be stopped or signalled by a test. A test that needs a server it may freeze
(SIGSTOP), kill or restart gets one of its own here: a fresh cluster in a
temporary directory, listening on a free port of 127.0.0.1, run by this process
and stopped by it::

    with PrivatePostgres() as pg:          # or PrivateMariaDB()
        conn = psycopg.connect(pg.url)
        pg.freeze()                         # the server stops answering, sockets stay open
        pg.thaw()

Every step has a deadline: a server that does not come up fails the test
instead of hanging it. Servers are stopped when their fixture ends, at
interpreter exit (``atexit``) and, where ``setpriv`` exists, by the kernel when
the thread that started them goes away (the parent-death signal), so a killed
test run leaves no server behind; the next run removes the directories such a
run left. The fixtures ``private_postgres`` and ``private_mariadb`` skip when
the server programs are missing, and fail instead under ``CI=true``.

Settings are tuned for tests: small buffers, no ``fsync`` (data survives a
killed server, not a crashed machine), logs into the temporary directory.
"""
from __future__ import annotations

import atexit
import contextlib
import faulthandler
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, ClassVar, NamedTuple, Self, TypeVar

import pytest

HOST = "127.0.0.1"
#: Seconds a server gets to accept connections after it is launched.
START_TIMEOUT = 30.0
#: Seconds a server gets to shut down cleanly before it is killed.
STOP_TIMEOUT = 10.0
_PREFIX = "rhosocial-private-"
_SETPRIV = shutil.which("setpriv")


class ServerUnavailable(RuntimeError):
    """The server's programs, or the OS user to run them as, are not on this machine."""


class ServerError(RuntimeError):
    """A private server failed to start or stop within its deadline."""


class _PortInUse(ServerError):
    """The server could not bind its port (someone took it between probe and bind)."""


class DeadlineExceeded(TimeoutError):
    """Raised in the main thread when a :func:`hard_deadline` runs out."""


def in_ci() -> bool:
    """Return whether ``CI`` asks for a missing server to fail the run (the project's rule)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


# --------------------------------------------------------------------------- processes


class ProcInfo(NamedTuple):
    """One process as /proc shows it; ``start`` (clock ticks after boot) tells reused pids apart."""

    pid: int
    ppid: int
    state: str
    start: int


def proc_info(pid: int) -> ProcInfo | None:
    """Return /proc's view of ``pid``, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may itself contain spaces or ')'.
    fields = raw[raw.rindex(")") + 2:].split()
    return ProcInfo(pid, int(fields[1]), fields[0], int(fields[19]))


def pid_alive(pid: int) -> bool:
    """Return whether ``pid`` is a live process (a zombie counts as dead)."""
    info = proc_info(pid)
    if info is not None:
        return info.state not in ("Z", "X")
    if os.path.isdir("/proc/self"):
        return False
    try:  # no /proc: fall back to the signal probe, which sees zombies as alive
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _all_procs() -> list[ProcInfo]:
    """Return every process this process can see."""
    procs = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = proc_info(int(name))
            if info is not None:
                procs.append(info)
    return procs


def process_tree(pid: int) -> list[ProcInfo]:
    """Return ``pid`` and all its live descendants, ``pid`` first ([] when it is gone)."""
    root = proc_info(pid)
    if root is None or root.state in ("Z", "X"):
        return []
    children: dict[int, list[ProcInfo]] = {}
    for info in _all_procs():
        children.setdefault(info.ppid, []).append(info)
    tree, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop().pid, []):
            if child.state not in ("Z", "X"):
                tree.append(child)
                todo.append(child)
    return tree


def _signal_exact(info: ProcInfo, sig: int) -> bool:
    """Send ``sig`` to the process ``info`` names, unless it exited (and its pid was reused)."""
    now = proc_info(info.pid)
    if now is None or now.start != info.start or now.state in ("Z", "X"):
        return False
    try:
        os.kill(info.pid, sig)
    except ProcessLookupError:
        return False
    return True


def _wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _stopped(info: ProcInfo) -> bool:
    """Return whether ``info``'s process is stopped by a signal, or gone."""
    now = proc_info(info.pid)
    return now is None or now.start != info.start or now.state in ("T", "t", "Z", "X")


def _gone(info: ProcInfo) -> bool:
    """Return whether ``info``'s process has exited (zombies count as exited)."""
    now = proc_info(info.pid)
    return now is None or now.start != info.start or now.state in ("Z", "X")


def free_port(host: str = HOST) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def run_command(cmd: list[str], timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a helper program with a deadline; on timeout kill its whole process group and raise."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            **kwargs)  # type: ignore[call-overload]
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise ServerError(f"{cmd[0]} did not finish within {timeout:.0f}s:\n{out[-2000:]}") from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")


@contextlib.contextmanager
def hard_deadline(seconds: float, *, grace: float = 10.0) -> Iterator[None]:
    """Bound a block (a test) in time, in three steps, so a hang fails instead of blocking.

    1. After ``seconds``, in the main thread, a SIGALRM timer raises
       :class:`DeadlineExceeded` (it interrupts blocking socket and ``select`` calls).
    2. ``grace`` seconds later, should the block still run (stuck in C code, or
       not in the main thread), a watchdog thread SIGKILLs every private server,
       which breaks any client call still waiting on one of them.
    3. ``grace`` seconds after that, faulthandler dumps every thread's stack
       and ends the process (the parent-death signal takes the servers down).
    """
    in_main = threading.current_thread() is threading.main_thread()
    previous: Any = None
    if in_main:
        def on_alarm(signum: int, frame: FrameType | None) -> None:
            raise DeadlineExceeded(f"test exceeded its hard deadline of {seconds:g}s")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    watchdog = threading.Timer(seconds + grace, _kill_all_live)
    watchdog.daemon = True
    watchdog.start()
    faulthandler.dump_traceback_later(seconds + 2 * grace, exit=True,
                                      file=sys.__stderr__ or sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        watchdog.cancel()
        if in_main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- cleanup registry

_live: set[PrivateServer] = set()
_live_lock = threading.Lock()


def _stop_all_at_exit() -> None:
    """Stop every server still running when the interpreter exits."""
    with _live_lock:
        servers = list(_live)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop(timeout=5.0)


atexit.register(_stop_all_at_exit)


def _kill_all_live() -> None:
    """SIGKILL every running private server from any thread, without taking their locks."""
    with _live_lock:
        servers = list(_live)
    for server in servers:
        proc = server._proc
        pid = proc.pid if proc is not None and proc.returncode is None else None
        for info in [*(process_tree(pid) if pid else []), *list(server._known.values())]:
            _signal_exact(info, signal.SIGKILL)
    if servers:
        print(f"hard deadline: killed private servers {servers}", file=sys.__stderr__, flush=True)


def _owner_tag() -> str:
    """Return ``"pid start"`` naming this process, written into every directory it makes."""
    info = proc_info(os.getpid())
    return f"{os.getpid()} {info.start if info else 0}"


def _owner_alive(tag: str) -> bool:
    """Return whether the process an owner tag names still runs."""
    try:
        pid_text, start_text = tag.split()
        info = proc_info(int(pid_text))
    except ValueError:
        return True  # unreadable: leave the directory alone
    return info is not None and info.start == int(start_text) and info.state not in ("Z", "X")


def _sweep_stale(parent: Path) -> None:
    """Remove directories (and kill servers) that a dead run of these helpers left in ``parent``.

    Only directories with our prefix and an owner file whose process is gone
    are touched, and only processes whose command line names such a directory
    are killed, so nothing else on the machine can be hit.
    """
    for base in parent.glob(f"{_PREFIX}*"):
        try:
            tag = (base / "owner").read_text()
        except OSError:
            continue
        if _owner_alive(tag):
            continue
        needle = str(base) + "/"
        for info in _all_procs():
            try:
                cmdline = Path(f"/proc/{info.pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if needle.encode() in cmdline and info.pid != os.getpid():
                for member in process_tree(info.pid):
                    _signal_exact(member, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)


def _can_traverse(path: Path, uid: int, gids: set[int]) -> bool:
    """Return whether a process of ``uid``/``gids`` may enter ``path`` and every parent of it."""
    if uid == 0:
        return True
    for part in [path, *path.parents]:
        st = part.stat()
        if st.st_uid == uid:
            bit = 0o100
        elif st.st_gid in gids:
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            return False
    return True


def _temp_parent(uid: int, gids: set[int]) -> Path:
    """Return the first temporary directory the server's OS user can reach."""
    for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
        path = Path(candidate).resolve()
        if path.is_dir() and _can_traverse(path, uid, gids):
            return path
    raise ServerError(f"no temporary directory is reachable by uid {uid}; "
                      f"set TMPDIR to one that is (e.g. /tmp)")


# --------------------------------------------------------------------------- servers


class PrivateServer:
    """A database server of this process's own: start, freeze, thaw, kill, restart, stop.

    Subclasses say how to find the programs, make the data directory, launch
    the server and ping it. ``pid`` is the main server process; ``pids()`` its
    whole process tree.
    """

    kind: ClassVar[str] = "server"
    #: Signal asking the server for a quick clean shutdown.
    shutdown_signal: ClassVar[int] = signal.SIGTERM
    host: str = HOST

    def __init__(self, *, start_timeout: float = START_TIMEOUT, stop_timeout: float = STOP_TIMEOUT,
                 die_with_parent: bool = True) -> None:
        """Configure, but do not start, the server.

        ``die_with_parent`` asks the kernel to kill the server when the thread
        that started it ends (needs ``setpriv``); keep it on unless the server
        must outlive a worker thread.
        """
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.die_with_parent = die_with_parent
        self.port = 0
        self.base_dir: Path | None = None
        self.start_seconds: float | None = None  #: how long the last start() took
        self.stop_seconds: float | None = None   #: how long the last stop() took
        self._proc: subprocess.Popen[bytes] | None = None
        self._known: dict[int, ProcInfo] = {}
        self._frozen = False
        self._log_offset = 0
        self._lock = threading.RLock()

    # -- to be provided by subclasses

    def _find_programs(self) -> None:
        """Locate the server's programs or raise :class:`ServerUnavailable`."""
        raise NotImplementedError

    def _run_as(self) -> tuple[int, int] | None:
        """Return (uid, gid) to run the server as, or None for this process's own user."""
        return None

    def _init_data(self) -> None:
        """Create the data directory in ``base_dir``."""
        raise NotImplementedError

    def _command(self) -> list[str]:
        """Return the command line that runs the server in the foreground on ``port``."""
        raise NotImplementedError

    def _launched_ok(self) -> bool:
        """Return whether the server says it finished starting (its own files/log)."""
        return True

    def _ping(self, timeout: float) -> bool:
        """Return whether a real client connection to this server works."""
        raise NotImplementedError

    def _after_ready(self) -> None:
        """Finish setting up a freshly started server (e.g. create a database)."""

    def _after_kill(self) -> None:
        """Clean up after the server's processes were killed (stale lock files and the like)."""

    @property
    def url(self) -> str:
        """The connection URL of the server."""
        raise NotImplementedError

    # -- paths and state

    @property
    def data_dir(self) -> Path:
        """The server's data directory."""
        return self._base() / "data"

    @property
    def log_path(self) -> Path:
        """File that receives the server's output."""
        return self._base() / "server.log"

    @property
    def pid(self) -> int | None:
        """The main server process (postmaster, mariadbd), or None when not running."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def frozen(self) -> bool:
        """Whether :meth:`freeze` stopped the server (and :meth:`thaw` has not resumed it)."""
        return self._frozen

    def is_running(self) -> bool:
        """Return whether the server process is alive (frozen counts as running)."""
        return self.pid is not None

    def pids(self) -> list[int]:
        """Return the server's live processes, main process first."""
        pid = self.pid
        tree = process_tree(pid) if pid is not None else []
        self._remember(tree)
        return [info.pid for info in tree]

    def log_tail(self, chars: int = 3000) -> str:
        """Return the end of the server's output, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except (OSError, ServerError):
            return ""

    def _base(self) -> Path:
        """Return ``base_dir`` or fail when the server was never started."""
        if self.base_dir is None:
            raise ServerError(f"private {self.kind} server is not started")
        return self.base_dir

    def _remember(self, tree: list[ProcInfo]) -> None:
        """Note processes of the server, to kill them even after their parent died."""
        for info in tree:
            self._known[info.pid] = info

    # -- lifecycle

    def start(self) -> Self:
        """Start the server (a fresh one, or again after :meth:`kill`); wait until it answers.

        Raises :class:`ServerUnavailable` when the programs are missing and
        :class:`ServerError` when it does not answer within ``start_timeout``;
        a failed start leaves nothing behind.
        """
        with self._lock:
            if self.is_running():
                return self
            began = time.monotonic()
            deadline = began + self.start_timeout
            with _live_lock:
                _live.add(self)
            try:
                if self.base_dir is None:
                    self._find_programs()
                    self._make_base_dir()
                    self._init_data()
                    self._launch(deadline, keep_port=False)
                else:
                    self._launch(deadline, keep_port=True)
            except BaseException:
                self.stop()
                raise
            self.start_seconds = time.monotonic() - began
            return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop the server for good and remove its directory; works when frozen, never hangs.

        Resumes a frozen server, asks it to shut down quickly, and kills all its
        processes if it has not finished within ``timeout`` (``stop_timeout``).
        """
        with self._lock:
            began = time.monotonic()
            try:
                self._terminate(self.stop_timeout if timeout is None else timeout)
            finally:
                if self._proc is not None:  # interrupted (e.g. by a deadline): kill, don't wait
                    with contextlib.suppress(Exception):
                        self._terminate(0.0)
                if self.base_dir is not None:
                    shutil.rmtree(self.base_dir, ignore_errors=True)
                    self.base_dir = None
                with _live_lock:
                    _live.discard(self)
                self.stop_seconds = time.monotonic() - began

    def kill(self) -> None:
        """Kill every server process at once (a crash); the data stays for :meth:`start`."""
        with self._lock:
            self._terminate(0.0)

    def restart(self) -> None:
        """Shut the server down cleanly and start it again on the same port and data."""
        with self._lock:
            self._terminate(self.stop_timeout)
            self.start()

    def ensure_running(self) -> None:
        """Thaw the server if frozen and start it again if it is down (for shared fixtures)."""
        with self._lock:
            if self._frozen:
                self.thaw()
            if not self.is_running():
                self.start()

    def freeze(self) -> None:
        """SIGSTOP the server and all its processes: it stops answering, its sockets stay open."""
        with self._lock:
            pid = self.pid
            if pid is None:
                raise ServerError(f"private {self.kind} server is not running")
            self._frozen = True
            seen: dict[tuple[int, int], ProcInfo] = {}
            # Main process first, so it forks no new children; repeat until no new ones show up.
            while True:
                fresh = [i for i in process_tree(pid) if (i.pid, i.start) not in seen]
                if not fresh:
                    break
                for info in fresh:
                    seen[info.pid, info.start] = info
                    _signal_exact(info, signal.SIGSTOP)
                    _wait_for(partial(_stopped, info), 2.0, 0.001)
            self._remember(list(seen.values()))

    def thaw(self) -> None:
        """SIGCONT the server and all its processes after :meth:`freeze`."""
        with self._lock:
            self._signal_all(signal.SIGCONT)
            self._frozen = False

    def __enter__(self) -> Self:
        """Start the server (if not yet started) for a ``with`` block."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop the server at the end of the ``with`` block."""
        self.stop()

    def __repr__(self) -> str:
        """Show kind, port and state."""
        state = "frozen" if self._frozen else "running" if self.is_running() else "stopped"
        return f"<{type(self).__name__} {self.host}:{self.port} {state} pid={self.pid}>"

    # -- internals

    def _signal_all(self, sig: int) -> None:
        """Send ``sig`` to the server's current process tree and every process seen before."""
        pid = self.pid
        tree = process_tree(pid) if pid is not None else []
        self._remember(tree)
        for info in list(self._known.values()):
            _signal_exact(info, sig)

    def _make_base_dir(self) -> None:
        """Create the private directory (reachable by the server's user) and own it."""
        owner = self._run_as()
        uid, gid = owner if owner is not None else (os.geteuid(), os.getegid())
        gids = {gid}
        with contextlib.suppress(KeyError):
            gids.update(os.getgrouplist(pwd.getpwuid(uid).pw_name, gid))
        parent = _temp_parent(uid, gids)
        _sweep_stale(parent)
        base = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{self.kind}-", dir=parent))
        self.base_dir = base
        (base / "owner").write_text(_owner_tag())
        if owner is not None:
            os.chown(base, uid, gid)
        if len(str(base)) > 80:  # unix socket paths are limited to ~107 bytes
            raise ServerError(f"temporary directory path too long for a unix socket: {base}")

    def _launch(self, deadline: float, keep_port: bool) -> None:
        """Run the server and wait until it answers; retry on another port if the port was taken."""
        for _attempt in range(1 if keep_port else 5):
            if not keep_port:
                self.port = free_port(self.host)
            try:
                self._spawn()
                self._wait_ready(deadline)
                self._after_ready()
                return
            except _PortInUse:
                self._terminate(0.0)
                if keep_port:
                    raise
        raise ServerError(f"private {self.kind} server found no free port after 5 tries")

    def _spawn(self) -> None:
        """Launch the server process in its own session, output into ``log_path``."""
        cmd = self._command()
        if self.die_with_parent and _SETPRIV is not None:
            cmd = [_SETPRIV, "--pdeathsig", "KILL", "--", *cmd]
        owner = self._run_as()
        user_kwargs: dict[str, object] = {}
        if owner is not None:
            user_kwargs = {"user": owner[0], "group": owner[1], "extra_groups": []}
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=self._base(), env=self._env(), start_new_session=True,
                **user_kwargs)  # type: ignore[call-overload]
        self._frozen = False

    def _env(self) -> dict[str, str]:
        """Return a minimal environment for the server's programs (no PG*/MYSQL* leaking in)."""
        return {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                "HOME": str(self._base()), "LC_ALL": "C", "LANG": "C"}

    def _new_log(self) -> str:
        """Return the server output written since the last launch."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _wait_ready(self, deadline: float) -> None:
        """Wait until the launched server answers a real connection, or raise."""
        proc = self._proc
        assert proc is not None
        while True:
            code = proc.poll()
            if code is not None:
                output = self._new_log()
                if "Address already in use" in output:
                    raise _PortInUse(f"port {self.port} taken")
                raise ServerError(f"private {self.kind} server exited with code {code} while "
                                  f"starting:\n{output[-3000:]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServerError(f"private {self.kind} server did not answer within "
                                  f"{self.start_timeout:g}s:\n{self._new_log()[-3000:]}")
            if self._launched_ok() and self._ping(min(2.0, max(left, 0.5))):
                self.pids()  # remember the processes it has now
                return
            time.sleep(0.05)

    def _terminate(self, timeout: float) -> None:
        """End all server processes: SIGCONT, clean shutdown for ``timeout`` s, then SIGKILL."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self._signal_all(signal.SIGCONT)
            self._frozen = False
            if timeout > 0:
                proc.send_signal(self.shutdown_signal)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout)
        killed = False
        if proc is not None and proc.poll() is None:
            # Stop the main process first so it forks nothing new, then kill the lot.
            proc.send_signal(signal.SIGSTOP)
            self._signal_all(signal.SIGKILL)
            killed = True
        if proc is not None:
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:
                raise ServerError(f"private {self.kind} server pid {proc.pid} survived SIGKILL") \
                    from None
        # Processes whose parent died before us (it was killed) are no longer in the tree.
        leftovers = [info for info in self._known.values() if not _gone(info)]
        for info in leftovers:
            _signal_exact(info, signal.SIGKILL)
            killed = True
        if not all(_wait_for(partial(_gone, info), 5.0) for info in leftovers):
            raise ServerError(f"private {self.kind} server processes survived SIGKILL")
        self._known.clear()
        self._proc = None
        self._frozen = False
        if killed and self.base_dir is not None:
            self._after_kill()


def _postgres_bindir_candidates() -> Iterator[Path]:
    """Yield directories that may hold PostgreSQL's server programs, best first."""
    env = os.environ.get("RHOSOCIAL_TEST_PG_BINDIR")
    if env:
        yield Path(env)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError, ServerError):
            out = run_command([pg_config, "--bindir"], timeout=10).stdout.strip()
            if out:
                yield Path(out)

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", Path(path).parent.name))

    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        yield Path(path)
    initdb = shutil.which("initdb")
    if initdb:
        yield Path(os.path.realpath(initdb)).parent


class PrivatePostgres(PrivateServer):
    """A private PostgreSQL cluster: initdb in a temp dir, trust auth, 127.0.0.1 on a free port.

    As root, the server runs as the OS user ``os_user`` (PostgreSQL refuses
    root). Connect as ``user`` to database ``dbname``; :attr:`url` says the same.
    """

    kind = "postgres"
    shutdown_signal = signal.SIGINT  # "fast" shutdown: roll back sessions, checkpoint, exit
    user = "postgres"
    dbname = "postgres"

    def __init__(self, *, os_user: str = "postgres", shared_buffers: str = "16MB",
                 max_connections: int = 40, **kwargs: Any) -> None:
        """Configure the cluster; see :class:`PrivateServer` for the timeouts."""
        super().__init__(**kwargs)
        self.os_user = os_user
        self.shared_buffers = shared_buffers
        self.max_connections = max_connections
        self.bindir: Path | None = None

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/postgres``."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    @property
    def params(self) -> dict[str, object]:
        """Connection keywords for psycopg / libpq."""
        return {"host": self.host, "port": self.port, "user": self.user, "dbname": self.dbname}

    @property
    def socket_dir(self) -> Path:
        """Directory of the server's unix socket (inside the temp dir)."""
        return self._base() / "sock"

    def backend_pids(self) -> list[int]:
        """Return the postmaster's child processes (client backends and background workers)."""
        return self.pids()[1:]

    def _program(self, name: str) -> str:
        """Return the path of program ``name`` in the chosen bindir."""
        assert self.bindir is not None
        return str(self.bindir / name)

    def _find_programs(self) -> None:
        """Find a bindir with initdb and postgres, and the OS user to run them as."""
        for path in _postgres_bindir_candidates():
            if all(os.access(path / n, os.X_OK) for n in ("initdb", "postgres")):
                self.bindir = path
                break
        else:
            raise ServerUnavailable(
                "PostgreSQL server programs (initdb, postgres) not found; install them "
                "(Debian: apt-get install postgresql) or set RHOSOCIAL_TEST_PG_BINDIR to their "
                "directory")
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(self.os_user)
            except KeyError:
                raise ServerUnavailable(
                    f"running as root, PostgreSQL needs an OS user {self.os_user!r} to run as; "
                    f"create one (the postgresql package does) or run the tests as non-root") \
                    from None

    def _run_as(self) -> tuple[int, int] | None:
        """Run as ``os_user`` when we are root, else as ourselves."""
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam(self.os_user)
        return entry.pw_uid, entry.pw_gid

    def _init_data(self) -> None:
        """Run initdb (trust auth, UTF8) and make the socket directory."""
        base = self._base()
        owner = self._run_as()
        self.socket_dir.mkdir()
        if owner is not None:
            os.chown(self.socket_dir, *owner)
        locale = "C.UTF-8" if Path("/usr/lib/locale/C.utf8").exists() else "C"
        cmd = [self._program("initdb"), "-D", str(self.data_dir), "-A", "trust", "-U", self.user,
               "-E", "UTF8", f"--locale={locale}", "--no-sync"]
        kwargs: dict[str, object] = {"cwd": base, "env": self._env()}
        if owner is not None:
            kwargs.update(user=owner[0], group=owner[1], extra_groups=[])
        result = run_command(cmd, timeout=60, **kwargs)
        with open(self.log_path, "a") as log:
            log.write(result.stdout)
        if result.returncode != 0:
            raise ServerError(f"initdb failed with code {result.returncode}:\n{result.stdout[-3000:]}")

    def _command(self) -> list[str]:
        """postgres in the foreground with test settings given on the command line."""
        settings = {
            "listen_addresses": self.host,
            "unix_socket_directories": str(self.socket_dir),
            "shared_buffers": self.shared_buffers,
            "max_connections": str(self.max_connections),
            "fsync": "off",
            "huge_pages": "off",
            "logging_collector": "off",
            "log_destination": "stderr",
            "lc_messages": "C",
            # dynamic shared memory as files in the data dir, so a killed server leaks none
            "dynamic_shared_memory_type": "mmap",
        }
        cmd = [self._program("postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        return cmd

    def _launched_ok(self) -> bool:
        """True once postmaster.pid names our process and says ``ready`` (what pg_ctl checks)."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return (len(lines) >= 8 and lines[0].strip() == str(self.pid)
                and lines[7].strip() == "ready")

    def _ping(self, timeout: float) -> bool:
        """Connect and run ``SELECT 1`` (psycopg if installed, else ``pg_isready``)."""
        try:
            import psycopg
        except ImportError:
            isready = self._program("pg_isready")
            cmd = [isready, "-h", self.host, "-p", str(self.port), "-U", self.user,
                   "-d", self.dbname, "-t", str(max(1, int(timeout)))]
            return run_command(cmd, timeout=timeout + 5, env=self._env()).returncode == 0
        try:
            with psycopg.connect(**self.params, connect_timeout=max(2, int(timeout)),  # type: ignore[arg-type]
                                 sslmode="disable", autocommit=True) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _after_kill(self) -> None:
        """Drop the lock files and System V segment a killed postmaster left."""
        pidfile = self.data_dir / "postmaster.pid"
        with contextlib.suppress(OSError, IndexError, ValueError, ServerError):
            lines = pidfile.read_text().splitlines()
            postmaster, (key, shmid) = int(lines[0]), lines[6].split()
            # Remove the segment only if the kernel says our postmaster made it and no one uses it.
            for row in Path("/proc/sysvipc/shm").read_text().splitlines()[1:]:
                cols = row.split()  # key shmid perms size cpid lpid nattch ...
                if (cols[0], cols[1], cols[4], cols[6]) == (key, shmid, str(postmaster), "0"):
                    run_command(["ipcrm", "-m", shmid], timeout=10)
        with contextlib.suppress(OSError):
            pidfile.unlink()
        for lock in self.socket_dir.glob(".s.PGSQL.*"):
            with contextlib.suppress(OSError):
                lock.unlink()


def _which(*names: str) -> str | None:
    """Return the first of ``names`` found on PATH or in the sbin directories."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
    for name in names:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


class PrivateMariaDB(PrivateServer):
    """A private MariaDB server: install-db in a temp dir, root without password on 127.0.0.1.

    Never reads /etc/mysql (``--no-defaults``). After start the database
    ``database`` (``test``) exists; :attr:`url` points at it.
    """

    kind = "mariadb"
    shutdown_signal = signal.SIGTERM
    user = "root"
    database = "test"

    def __init__(self, *, buffer_pool: str = "16M", server_args: tuple[str, ...] = (),
                 **kwargs: Any) -> None:
        """Configure the server (``server_args``: more mariadbd options); see :class:`PrivateServer`."""
        super().__init__(**kwargs)
        self.buffer_pool = buffer_pool
        self.server_args = tuple(server_args)
        self.mariadbd: str | None = None
        self.install_db: str | None = None

    @property
    def url(self) -> str:
        """``mysql://root@127.0.0.1:PORT/test``."""
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def params(self) -> dict[str, object]:
        """Connection keywords for PyMySQL."""
        return {"host": self.host, "port": self.port, "user": self.user, "password": "",
                "database": self.database}

    @property
    def socket_path(self) -> Path:
        """The server's unix socket (inside the temp dir)."""
        return self._base() / "mariadb.sock"

    def _find_programs(self) -> None:
        """Find mariadbd (or mysqld) and mariadb-install-db (or mysql_install_db)."""
        self.mariadbd = _which("mariadbd", "mysqld")
        self.install_db = _which("mariadb-install-db", "mysql_install_db")
        if self.mariadbd is None or self.install_db is None:
            raise ServerUnavailable(
                "MariaDB server programs (mariadbd, mariadb-install-db) not found; install them "
                "(Debian: apt-get install mariadb-server) or put them on PATH")

    def _options(self) -> list[str]:
        """Server options shared by install-db and the server (after ``--no-defaults``)."""
        opts = [f"--datadir={self.data_dir}", f"--innodb-buffer-pool-size={self.buffer_pool}",
                "--innodb-log-file-size=8M", "--skip-log-bin", "--skip-name-resolve",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"]
        if os.geteuid() == 0:
            opts.append("--user=root")
        return opts

    def _init_data(self) -> None:
        """Run install-db: root@127.0.0.1 with an empty password, no test database."""
        assert self.install_db is not None
        (self._base() / "tmp").mkdir()
        cmd = [self.install_db, "--no-defaults", *self._options(),
               "--auth-root-authentication-method=normal", "--skip-test-db"]
        result = run_command(cmd, timeout=120, cwd=self._base(), env=self._env())
        with open(self.log_path, "a") as log:
            log.write(result.stdout)
        if result.returncode != 0:
            raise ServerError(f"{Path(self.install_db).name} failed with code "
                              f"{result.returncode}:\n{result.stdout[-3000:]}")

    def _command(self) -> list[str]:
        """mariadbd in the foreground; everything it writes stays in the temp dir."""
        assert self.mariadbd is not None
        base = self._base()
        return [self.mariadbd, "--no-defaults", *self._options(),
                f"--port={self.port}", f"--bind-address={self.host}",
                f"--socket={self.socket_path}", f"--pid-file={base / 'mariadb.pid'}",
                f"--log-error={self.log_path}", f"--tmpdir={base / 'tmp'}",
                "--innodb-buffer-pool-dump-at-shutdown=OFF",
                "--innodb-buffer-pool-load-at-startup=OFF",
                "--innodb-flush-log-at-trx-commit=2",  # commits survive a killed server
                "--max-connections=100", *self.server_args]

    def _launched_ok(self) -> bool:
        """True once this launch's log says the server is ready."""
        return "ready for connections" in self._new_log()

    def _ping(self, timeout: float) -> bool:
        """Connect as root and check it is our server (PyMySQL if installed, else mariadb-admin)."""
        try:
            import pymysql  # type: ignore[import-untyped, unused-ignore]
        except ImportError:
            admin = _which("mariadb-admin", "mysqladmin")
            if admin is None:
                return True  # the log said ready; nothing else to check with
            cmd = [admin, "--no-defaults", "-h", self.host, "-P", str(self.port), "-u", self.user,
                   f"--connect-timeout={max(1, int(timeout))}", "ping"]
            return run_command(cmd, timeout=timeout + 5, env=self._env()).returncode == 0
        try:
            conn = pymysql.connect(host=self.host, port=self.port, user=self.user, password="",
                                   connect_timeout=timeout, read_timeout=timeout + 3,
                                   write_timeout=timeout + 3)
        except pymysql.Error:
            return False
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT @@datadir")
                row = cur.fetchone()
            return row is not None and Path(str(row[0])).resolve() == self.data_dir.resolve()
        finally:
            conn.close()

    def _after_ready(self) -> None:
        """Create the ``test`` database."""
        sql = f"CREATE DATABASE IF NOT EXISTS `{self.database}`"
        try:
            import pymysql  # type: ignore[import-untyped, unused-ignore]
        except ImportError:
            client = _which("mariadb", "mysql")
            if client is None:
                raise ServerUnavailable("no PyMySQL and no mariadb client to create the database") \
                    from None
            cmd = [client, "--no-defaults", "-h", self.host, "-P", str(self.port), "-u", self.user,
                   "--connect-timeout=5", "-e", sql]
            result = run_command(cmd, timeout=30, env=self._env())
            if result.returncode != 0:
                raise ServerError(f"creating database {self.database!r} failed:\n{result.stdout}")
            return
        conn = pymysql.connect(host=self.host, port=self.port, user=self.user, password="",
                               connect_timeout=5, read_timeout=10, write_timeout=10)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()


# --------------------------------------------------------------------------- pytest fixtures

S = TypeVar("S", bound=PrivateServer)


def start_or_skip(server: S) -> S:
    """Start ``server``; skip the test when its programs are missing (fail under ``CI=true``)."""
    try:
        return server.start()
    except ServerUnavailable as exc:
        if in_ci():
            pytest.fail(f"private {server.kind} server is required under CI=true: {exc}",
                        pytrace=False)
        pytest.skip(f"private {server.kind} server unavailable: {exc}")


def _serve(server: S) -> Iterator[S]:
    """Yield ``server`` started (or skip), and stop it whatever the tests did to it."""
    start_or_skip(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this test module's own, free to freeze, kill or restart.

    A test that freezes or kills it should call ``ensure_running()`` when done
    (in a ``finally``), since later tests of the module share it.
    """
    yield from _serve(PrivatePostgres())


@pytest.fixture(scope="module")
def private_mariadb() -> Iterator[PrivateMariaDB]:
    """A MariaDB server of this test module's own, free to freeze, kill or restart.

    A test that freezes or kills it should call ``ensure_running()`` when done
    (in a ``finally``), since later tests of the module share it.
    """
    yield from _serve(PrivateMariaDB())
