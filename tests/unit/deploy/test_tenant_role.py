"""TenantRole: one AssumeRole per tenant with the tenant as session tag, cached until expiry."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dyntable import Key, Model, Table
from dyntable.deploy import DeployDeclarationError, TenantNotSetError, TenantRole
from dyntable.transport.credentials import Credentials, may_block

ROLE = "arn:aws:iam::123456789012:role/shop-ApiFunctionTenantRole-X"


class FakeSts:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        n = len(self.calls)
        return {"Credentials": {
            "AccessKeyId": f"AK{n}", "SecretAccessKey": "s", "SessionToken": f"t{n}",
            "Expiration": datetime.fromtimestamp(1000 + 3600, tz=timezone.utc)}}


def test_assumes_once_per_tenant_and_renews_before_expiry() -> None:
    now = [1000.0]
    sts = FakeSts()
    role = TenantRole(ROLE, sts_client=sts, clock=lambda: now[0], max_tenants=2)
    a = role.credentials("acme")
    assert role.provider("acme")() == a  # cached
    assert sts.calls == [{"RoleArn": ROLE, "RoleSessionName": "tenant-acme",
                          "DurationSeconds": 3600, "Tags": [{"Key": "tenant", "Value": "acme"}]}]
    role.credentials("globex")
    assert [c["Tags"][0]["Value"] for c in sts.calls] == ["acme", "globex"]
    now[0] = 1000 + 3600 - 299  # within the refresh margin: renewed
    assert role.credentials("acme") != a
    role.credentials("initech")  # evicts globex, the least recently used
    now[0] = 1000.0
    role.credentials("globex")
    assert len(sts.calls) == 5


def test_refuses_bad_tenants_and_settings() -> None:
    role = TenantRole(ROLE, sts_client=FakeSts())
    for bad in ("", "a*b", "a#b", "a b", "x" * 257):
        with pytest.raises(ValueError, match="session tag value"):
            role.credentials(bad)
    with pytest.raises(DeployDeclarationError, match="not a role ARN"):
        TenantRole("shop-role")
    with pytest.raises(DeployDeclarationError, match="900 to 43200"):
        TenantRole(ROLE, duration=60)


def test_from_environment() -> None:
    assert TenantRole.from_environment({}) is None
    role = TenantRole.from_environment({"TENANT_ROLE_ARN": ROLE, "TENANT_TAG": "org"})
    assert role is not None and role.role_arn == ROLE and role.tag == "org"


def test_against_moto_sts(monkeypatch: pytest.MonkeyPatch) -> None:
    moto = pytest.importorskip("moto", reason="moto is in the local extra")
    boto3 = pytest.importorskip("boto3")
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        sts = boto3.client("sts")
        creds = TenantRole(ROLE, sts_client=sts).credentials("acme")
        assert creds.access_key and creds.secret_key and creds.token


# -- one client for every tenant: role.current() + role.acting_as(tenant) -------------------


class SlowSts:
    """STS whose answer takes a while (so first requests of one tenant overlap); the
    credentials name the tenant: access key ``AK-<tenant>``, session token ``token-<tenant>``."""

    def __init__(self, delay: float = 0.0) -> None:
        self.tenants: list[str] = []
        self.delay = delay
        self._lock = threading.Lock()

    def assume_role(self, **params: Any) -> dict[str, Any]:
        tenant = params["Tags"][0]["Value"]
        with self._lock:
            self.tenants.append(tenant)
        time.sleep(self.delay)
        return {"Credentials": {
            "AccessKeyId": f"AK-{tenant}", "SecretAccessKey": "s",
            "SessionToken": f"token-{tenant}", "Expiration": time.time() + 3600}}


def tenant_of(creds: Credentials) -> str:
    assert creds.token is not None
    return creds.token.removeprefix("token-")


def test_acting_as_switches_the_current_tenant_in_one_thread() -> None:
    sts = SlowSts()
    role = TenantRole(ROLE, sts_client=sts)
    current = role.current()
    assert role.tenant is None
    with role.acting_as("acme"):
        assert tenant_of(current()) == "acme"
        with role.acting_as("globex"):  # nested: the inner tenant wins until it ends
            assert role.tenant == "globex"
            assert tenant_of(current()) == "globex"
        assert tenant_of(current()) == "acme"
    for tenant in ("globex", "acme", "globex", "acme"):  # interleaved blocks
        with role.acting_as(tenant):
            assert tenant_of(current()) == tenant
    assert role.tenant is None
    assert sts.tenants == ["acme", "globex"]  # one STS call per tenant, then the cache


def test_outside_a_block_raises_unless_a_fallback_is_given() -> None:
    role = TenantRole(ROLE, sts_client=SlowSts())
    with pytest.raises(TenantNotSetError, match="acting_as"):
        role.current()()
    with role.acting_as("acme"):
        pass
    with pytest.raises(TenantNotSetError):  # and again once a block has ended
        role.current()()
    own = Credentials("own", "s", None)
    assert role.current(fallback=lambda: own)() == own
    with role.acting_as("acme"):
        assert tenant_of(role.current(fallback=lambda: own)()) == "acme"
    with pytest.raises(ValueError, match="session tag value"), role.acting_as("a#b"):
        pass


def test_each_role_has_its_own_current_tenant() -> None:
    one, two = TenantRole(ROLE, sts_client=SlowSts()), TenantRole(ROLE, sts_client=SlowSts())
    with one.acting_as("acme"):
        assert tenant_of(one.current()()) == "acme"
        with pytest.raises(TenantNotSetError):
            two.current()()


def test_tenants_in_threads_get_their_own_credentials_and_one_sts_call_each() -> None:
    sts = SlowSts(delay=0.05)  # the first requests of each tenant overlap
    role = TenantRole(ROLE, sts_client=sts)
    current = role.current()
    start = threading.Barrier(8)
    wrong: list[tuple[str, str]] = []

    def work(i: int) -> None:
        start.wait()
        for n in range(50):
            tenant = ("acme", "globex")[(i + n) % 2]
            with role.acting_as(tenant):
                got = tenant_of(current())
                if got != tenant:
                    wrong.append((tenant, got))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    assert sorted(sts.tenants) == ["acme", "globex"]


def test_tenants_in_asyncio_tasks_get_their_own_credentials() -> None:
    sts = SlowSts(delay=0.01)
    role = TenantRole(ROLE, sts_client=sts)
    current = role.current()

    async def credentials_now() -> Credentials:
        # what the async transport does: a provider that may block runs in a thread
        return await asyncio.to_thread(current) if may_block(current) else current()

    async def request(tenant: str) -> list[str]:
        seen = []
        with role.acting_as(tenant):
            for _ in range(5):
                seen.append(tenant_of(await credentials_now()))
                await asyncio.sleep(0)  # let the other tasks run inside their blocks
        return seen

    async def main() -> list[list[str]]:
        return list(await asyncio.gather(*(request(t) for t in ("acme", "globex") * 3)))

    results = asyncio.run(main())
    assert results == [[t] * 5 for t in ("acme", "globex") * 3]
    assert sorted(sts.tenants) == ["acme", "globex"]


def test_providers_say_when_the_next_call_asks_sts() -> None:
    now = [1000.0]
    role = TenantRole(ROLE, sts_client=FakeSts(), clock=lambda: now[0])
    fixed, current = role.provider("acme"), role.current()
    assert may_block(fixed)
    with role.acting_as("acme"):
        assert may_block(current)
        current()
        assert not may_block(current) and not may_block(fixed)
    now[0] = 1000 + 3600 - 299  # due for renewal
    assert may_block(fixed)
    assert not may_block(role.current(fallback=lambda: Credentials("k", "s", None)))


# -- the same through a real client and its transport ------------------------------------

tenants = Table("tenant-role-test", pk="PK", sk="SK")


class Note(Model, table=tenants, entity="note"):
    tenant: str
    note_id: str

    primary = Key(pk="TENANT#{tenant}#NOTE#{note_id}", sk="NOTE")


class Recorder(BaseHTTPRequestHandler):
    """Answers GetItem with no item and BatchWriteItem with everything written; records
    (signing key, token, key's tenant)."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, str]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = re.search(r"Credential=([^/]+)/", self.headers["Authorization"])
        if "Key" in body:
            pk = body["Key"]["PK"]["S"].split("#")[1]
        else:  # BatchWriteItem: every item of the batch belongs to one tenant here
            (requests,) = body["RequestItems"].values()
            tenants_of = {r["PutRequest"]["Item"]["PK"]["S"].split("#")[1] for r in requests}
            assert len(tenants_of) == 1
            (pk,) = tenants_of
        assert key is not None
        self.seen.append((key.group(1), self.headers["X-Amz-Security-Token"], pk))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    seen: list[tuple[str, str, str]] = []
    handler = type("Handler", (Recorder,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def signed_as_their_tenant(seen: list[tuple[str, str, str]]) -> None:
    assert seen
    for access_key, token, tenant in seen:
        assert (access_key, token) == (f"AK-{tenant}", f"token-{tenant}")


def test_one_sync_client_signs_each_request_as_its_tenant(
        recorder: tuple[str, list[tuple[str, str, str]]]) -> None:
    url, seen = recorder
    sts = SlowSts(delay=0.02)
    role = TenantRole(ROLE, sts_client=sts)
    db = tenants.connect(endpoint_url=url, region="us-east-1", credentials=role.current())
    try:
        def work(i: int) -> None:
            for n in range(10):
                tenant = ("acme", "globex", "initech")[(i + n) % 3]
                with role.acting_as(tenant):
                    assert db.get(Note, tenant=tenant, note_id=f"n{n}") is None

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(seen) == 40
        signed_as_their_tenant(seen)
        assert sorted(sts.tenants) == ["acme", "globex", "initech"]
        # outside a block: refused before anything is sent, never signed unscoped; the
        # provider's own typed error reaches the caller (not a credentials-setup hint)
        with pytest.raises(TenantNotSetError, match="no tenant is set"):
            db.get(Note, tenant="acme", note_id="n0")
        assert len(seen) == 40
    finally:
        db.close()


def test_one_async_client_signs_each_task_as_its_tenant(
        recorder: tuple[str, list[tuple[str, str, str]]]) -> None:
    url, seen = recorder
    sts = SlowSts(delay=0.02)  # assumed in a worker thread (may_block), the loop runs on
    role = TenantRole(ROLE, sts_client=sts)

    async def main() -> None:
        db = await tenants.connect_async(endpoint_url=url, region="us-east-1",
                                         credentials=role.current())
        try:
            async def request(tenant: str) -> None:
                with role.acting_as(tenant):
                    for n in range(5):
                        assert await db.get(Note, tenant=tenant, note_id=f"n{n}") is None

            await asyncio.gather(*(request(t) for t in ("acme", "globex") * 3))
        finally:
            await db.close()

    asyncio.run(main())
    assert len(seen) == 30
    signed_as_their_tenant(seen)
    assert sorted(sts.tenants) == ["acme", "globex"]


def test_a_concurrent_batch_writer_signs_as_the_tenant_of_its_block(
        recorder: tuple[str, list[tuple[str, str, str]]]) -> None:
    # The writer's sender threads run in the context the writer was made in, so the tenant
    # set by acting_as holds there too (before: TenantNotSetError from every sender).
    url, seen = recorder
    role = TenantRole(ROLE, sts_client=SlowSts(delay=0.0))
    db = tenants.connect(endpoint_url=url, region="us-east-1", credentials=role.current())
    try:
        for tenant in ("acme", "globex"):
            with role.acting_as(tenant), db.batch_writer(concurrency=3) as writer:
                for n in range(100):
                    writer.put(Note(tenant=tenant, note_id=f"n{n}"))
        assert len(seen) == 8  # 4 chunks of 25 per tenant
        signed_as_their_tenant(seen)
        assert sorted({t for _, _, t in seen}) == ["acme", "globex"]
    finally:
        db.close()
