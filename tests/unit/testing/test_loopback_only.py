"""DynamoDB Local started by dyntable listens on loopback only, unless asked otherwise.

DynamoDB Local has no option for its address (it listens on every interface); dyntable
starts it through a small launcher class that sets the address first. Tests marked
``integration`` start real servers and read the kernel's table of listening sockets.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dyntable.cli.main import main
from dyntable.testing.dynamodb_local import (
    DynamoDBLocal,
    LocalServerError,
    find_dynamodb_local,
    find_java,
    free_port,
)
from dyntable.testing.launcher import LAUNCHER_CLASS, launcher_class_bytes, write_launcher

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_LISTEN = "0A"


def _proc_address(text: str, v6: bool) -> Address:
    """An address of /proc/net/tcp{,6}: hex of 32-bit words in host byte order."""
    raw = bytes.fromhex(text)
    words = [raw[i:i + 4] for i in range(0, len(raw), 4)]
    order = sys.byteorder
    packed = b"".join(int.from_bytes(w, order).to_bytes(4, "big") for w in words)
    return ipaddress.IPv6Address(packed) if v6 else ipaddress.IPv4Address(packed)


def listening_addresses(port: int) -> set[Address]:
    """The local addresses with a TCP socket listening on ``port`` (Linux /proc)."""
    found: set[Address] = set()
    for name, v6 in (("tcp", False), ("tcp6", True)):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state = fields[1], fields[3]
            host, _, hex_port = local.partition(":")
            if state == _LISTEN and int(hex_port, 16) == port:
                found.add(_proc_address(host, v6))
    return found


def _is_loopback(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # UDP: picks the outgoing address, sends nothing
        except OSError:
            return None
        address: str = sock.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _reachable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) == 0


needs_server = pytest.mark.skipif(
    find_java() is None or find_dynamodb_local() is None,
    reason="needs Java and a cached DynamoDB Local (dyntable local fetches it)",
)
needs_proc = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="reads listening sockets from Linux /proc"
)


# -- the launcher class and the command line ------------------------------------------------


def test_the_launcher_class_is_a_java_8_class_file(tmp_path: Path) -> None:
    data = launcher_class_bytes()
    assert data[:4] == b"\xca\xfe\xba\xbe" and int.from_bytes(data[6:8], "big") == 52
    directory = write_launcher(tmp_path)
    assert (directory / f"{LAUNCHER_CLASS}.class").read_bytes() == data
    javap = shutil.which("javap")
    if javap is None:
        return  # a JRE has no javap; the integration tests below run the class
    out = subprocess.run([javap, "-c", "-cp", str(directory), LAUNCHER_CLASS],
                         capture_output=True, text=True, check=True).stdout
    assert "public static void main(java.lang.String[])" in out
    assert "String dyntable.host" in out and "String setHost" in out


@needs_server
def test_the_command_sets_the_address_unless_every_interface_is_asked(tmp_path: Path) -> None:
    loopback = DynamoDBLocal().command(8000, tmp_path)
    assert "-Ddyntable.host=127.0.0.1" in loopback and LAUNCHER_CLASS in loopback
    assert "-jar" not in loopback
    assert (tmp_path / f"{LAUNCHER_CLASS}.class").exists()
    everywhere = DynamoDBLocal(host="0.0.0.0").command(8000, tmp_path)
    assert "-jar" in everywhere and LAUNCHER_CLASS not in everywhere


def test_free_port_picks_a_loopback_port() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # free there


def test_the_cli_offers_host_with_a_loopback_default() -> None:
    result = CliRunner().invoke(main, ["local", "--help"])
    assert result.exit_code == 0
    assert "--host" in result.output and "127.0.0.1" in result.output


# -- real servers -------------------------------------------------------------------------


@pytest.mark.integration
@needs_server
@needs_proc
def test_the_server_listens_on_loopback_only_by_default() -> None:
    with DynamoDBLocal() as server:
        assert server.port is not None
        addresses = listening_addresses(server.port)
        assert addresses and all(_is_loopback(a) for a in addresses), addresses
        assert server.endpoint_url == f"http://127.0.0.1:{server.port}"
        assert _reachable("127.0.0.1", server.port)
        other = non_loopback_ipv4()
        if other is not None:  # the machine has another address: the server is not there
            assert not _reachable(other, server.port)


@pytest.mark.integration
@needs_server
@needs_proc
def test_every_interface_when_asked() -> None:
    other = non_loopback_ipv4()
    with DynamoDBLocal(host="0.0.0.0") as server:
        assert server.port is not None
        addresses = listening_addresses(server.port)
        assert any(a.is_unspecified for a in addresses), addresses
        if other is not None:
            assert _reachable(other, server.port)


@pytest.mark.integration
@needs_server
def test_a_port_taken_on_loopback_is_refused() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LocalServerError, match=f"port {port} is already in use"):
            DynamoDBLocal(port=port).start()


@pytest.mark.integration
@needs_server
@needs_proc
def test_dyntable_local_listens_on_loopback_only(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from dyntable.cli.main import main; main()", "local",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        output = "".join(lines)
        assert "listening on 127.0.0.1 only" in output, output
        addresses = listening_addresses(port)
        assert addresses and all(_is_loopback(a) for a in addresses), addresses
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
