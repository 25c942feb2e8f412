"""With ``TENANT_ROLE_ARN`` set (as deployed), DynamoDB calls are signed per tenant."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from apigw import Caller
from shopapi import tenancy

from dyntable import Client
from dyntable.transport.credentials import Credentials

ROLE = "arn:aws:iam::123456789012:role/shop-ApiFunctionTenantRole"


@pytest.fixture
def sts_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """A fake STS: the credentials it hands out carry the tenant in their session token."""
    calls: list[tuple[str, str, str]] = []

    def assume(role_arn: str, tag: str, tenant: str) -> tuple[Credentials, float]:
        calls.append((role_arn, tag, tenant))
        # DynamoDB Local keeps one namespace per access key: keep the test's key
        return Credentials("testing", "testing", f"session-of-{tenant}"), time.time() + 900

    monkeypatch.setattr(tenancy, "assume_tenant_role", assume)
    monkeypatch.setattr(tenancy, "_assumed", {})
    monkeypatch.setenv("TENANT_ROLE_ARN", ROLE)
    monkeypatch.setenv("TENANT_TAG", "tenant")
    return calls


@pytest.mark.integration
def test_each_request_is_signed_with_its_tenants_role(
        shop_db: Client, sts_calls: list[tuple[str, str, str]]) -> None:
    acme, globex = Caller("acme"), Caller("globex", "http")
    assert acme("POST", "/tenants/acme/customers", body={
        "customer_id": "c-ada", "email": "ada@acme.example", "name": "Ada"}).status == 201
    assert acme("GET", "/tenants/acme/customers/c-ada").status == 200
    assert globex("GET", "/tenants/globex/customers").json["items"] == []
    # assumed when the transport signed a request inside each tenant's request, once each
    assert sts_calls == [(ROLE, "tenant", "acme"), (ROLE, "tenant", "globex")]
    # outside a request: the function's own credentials
    assert tenancy.signing_credentials().token is None


def test_tenant_credentials_are_renewed_before_they_expire(
        monkeypatch: pytest.MonkeyPatch, fake_aws_env: None) -> None:
    calls: list[str] = []

    def assume(role_arn: str, tag: str, tenant: str) -> tuple[Credentials, float]:
        calls.append(tenant)
        return Credentials("k", "s", f"t{len(calls)}"), time.time() + 30   # expires soon

    monkeypatch.setattr(tenancy, "assume_tenant_role", assume)
    monkeypatch.setattr(tenancy, "_assumed", {})
    monkeypatch.setenv("TENANT_ROLE_ARN", ROLE)
    with tenancy.acting_as("acme"):
        first, second = tenancy.signing_credentials(), tenancy.signing_credentials()
    assert (first.token, second.token, calls) == ("t1", "t2", ["acme", "acme"])


def test_assume_tenant_role_asks_sts_with_the_session_tag(fake_aws_env: None) -> None:
    moto = pytest.importorskip("moto", reason="moto is in the dev extra")
    with moto.mock_aws():
        creds, expires = tenancy.assume_tenant_role(ROLE, "tenant", "acme")
    assert creds.access_key and creds.secret_key and creds.token
    assert expires > datetime.now().timestamp()
