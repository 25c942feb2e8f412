"""Run a throwaway ``redis-server`` (Debian's package, Redis 7) for tests and benchmarks.

:class:`RedisServer` starts one on a free loopback port with no persistence
(``--save '' --appendonly no``), in a temporary directory, waits until it answers ``PING``
and stops it (also when this process dies). It can be killed and started again on the
same port, to test what a cache does during an outage.

``redis-server`` is found on PATH (or ``$DYNTABLE_REDIS_SERVER``); when it is missing and
the process runs as root with ``CI`` set, it is installed with apt-get (package
``redis-server``), as :mod:`dyntable.testing.install` does for Java; otherwise a
:class:`~dyntable.testing.install.MissingDependencyError` says how to get it.

Example::

    with RedisServer() as server:
        store = RedisCacheStore(server.url)

This module imports only the standard library (and :mod:`dyntable.testing.install`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from dyntable.testing.dynamodb_local import _die_with_parent, free_port
from dyntable.testing.install import (
    LocalServerError,
    output_tail,
    tool_path,
)

__all__ = ["APT_PACKAGE", "RedisServer", "find_redis_server", "redis_server_path"]

#: The Debian package that holds ``redis-server``.
APT_PACKAGE = "redis-server"
DEFAULT_STARTUP_TIMEOUT = 20.0


def find_redis_server() -> str | None:
    """``$DYNTABLE_REDIS_SERVER``, else ``redis-server`` on PATH (or in /usr/bin), else None."""
    explicit = os.environ.get("DYNTABLE_REDIS_SERVER")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    found = shutil.which("redis-server")
    if found:
        return found
    fallback = Path("/usr/bin/redis-server")
    return str(fallback) if os.access(fallback, os.X_OK) else None


def redis_server_path() -> str:
    """The ``redis-server`` executable, installed with apt-get as root on CI when missing.

    Raises:
        MissingDependencyError: not found, and not allowed to install it.
    """
    return tool_path("redis-server", find_redis_server, APT_PACKAGE, (
        "redis-server not found (needed for the Redis cache tests). Install it (Debian/"
        f"Ubuntu: apt-get install {APT_PACKAGE}), set DYNTABLE_REDIS_SERVER to its path, or "
        "point DYNTABLE_TEST_REDIS_URL at a running Redis."))


class RedisServer:
    """One ``redis-server`` process on loopback, without persistence.

    Args:
        port: the port; a free one is picked when ``None``.
        password: require this password (``requirepass``) of the default user.
        users: ACL rules for more users, e.g. ``{"app": "on >secret ~* &* +@all"}``.
        tls: a ``(cert_file, key_file, ca_file)`` triple: also listen with TLS on
            :attr:`tls_port` (``rediss://``).
        startup_timeout: seconds to wait for ``PING`` to be answered.

    Attributes:
        url: ``redis://127.0.0.1:<port>/0`` once started.
    """

    host = "127.0.0.1"

    def __init__(self, *, port: int | None = None, password: str | None = None,
                 users: dict[str, str] | None = None,
                 tls: tuple[str, str, str] | None = None,
                 startup_timeout: float = DEFAULT_STARTUP_TIMEOUT) -> None:
        self.port = port
        self.password = password
        self.users = dict(users or {})
        self.tls = tls
        self.tls_port: int | None = None
        self.startup_timeout = startup_timeout
        self.startup_seconds: float | None = None
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        if self.port is None:
            raise LocalServerError("redis-server is not started; call start() first")
        return f"redis://{self.host}:{self.port}/0"

    @property
    def tls_url(self) -> str:
        """``rediss://127.0.0.1:<tls_port>/0`` (when started with ``tls``)."""
        if self.tls_port is None:
            raise LocalServerError("redis-server was not started with TLS")
        return f"rediss://{self.host}:{self.tls_port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while running."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path | None:
        """The file receiving the server's output."""
        return self._dir / "redis.log" if self._dir is not None else None

    def command(self, executable: str, port: int) -> list[str]:
        """The command line for ``port`` (no persistence, loopback only)."""
        assert self._dir is not None
        command = [executable, "--port", str(port), "--bind", self.host,
                   "--save", "", "--appendonly", "no", "--dir", str(self._dir),
                   "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"]
        if self.password is not None:
            command += ["--requirepass", self.password]
        for user, rules in self.users.items():
            command += ["--user", user, *rules.split()]
        if self.tls is not None:
            cert, key, ca = self.tls
            assert self.tls_port is not None
            command += ["--tls-port", str(self.tls_port), "--tls-cert-file", cert,
                        "--tls-key-file", key, "--tls-ca-cert-file", ca,
                        "--tls-auth-clients", "no"]
        return command

    def start(self) -> RedisServer:
        """Start the server (on the same port as before, after :meth:`kill`); returns ``self``.

        Raises:
            MissingDependencyError: no ``redis-server`` and not allowed to install it.
            LocalServerError: it exited or did not answer within ``startup_timeout``.
        """
        if self.running:
            return self
        executable = redis_server_path()
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="dyntable-redis-"))
        began = time.monotonic()
        for attempt in range(3):
            port = self.port or free_port(self.host)
            if self.tls is not None and self.tls_port is None:
                self.tls_port = free_port(self.host)
            assert self.log_path is not None
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    self.command(executable, port), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT,
                    preexec_fn=_die_with_parent(),  # noqa: PLW1509 - no locks taken in it
                )
            atexit.register(self.stop)
            try:
                self._wait_until_ready(port)
            except LocalServerError:
                self._halt()
                if self.port is None and attempt < 2 and "in use" in self._log_text():
                    continue
                raise
            self.port = port
            self.startup_seconds = time.monotonic() - began
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_until_ready(self, port: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise LocalServerError(f"redis-server exited with code {code}; last output:\n"
                                       + output_tail(self._log_text()))
            if _answers_ping(self.host, port):
                return
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"redis-server did not answer within {self.startup_timeout:.0f}s; last "
                    "output:\n" + output_tail(self._log_text()))
            time.sleep(0.02)

    def _log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace") if self.log_path else ""
        except OSError:
            return ""

    def kill(self) -> None:
        """Kill the server at once (SIGKILL: no shutdown); :meth:`start` brings it back empty."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
        self._process = None

    def _halt(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop(self) -> None:
        """Stop the server and remove its directory. Idempotent."""
        atexit.unregister(self.stop)
        self._halt()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RedisServer {self.url if self.running else 'stopped'}>"


def _answers_ping(host: str, port: int) -> bool:
    """True when something speaking RESP answers ``PING`` (``-NOAUTH`` counts: it is up)."""
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH", b"-ERR"))
