"""With ``TENANT_ROLE_ARN`` set (as deployed), the one client signs each request as its
tenant, through :class:`dyntable.deploy.TenantRole`; without it, the function's own
credentials sign everything."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from apigw import Caller
from shopapi import tenancy
from shopapi.db import database
from shopapi.models import Customer

from dyntable import Client
from dyntable.deploy import TenantNotSetError
from dyntable.deploy.tenant import TenantRole
from dyntable.transport.credentials import Credentials

ROLE = "arn:aws:iam::123456789012:role/shop-ApiFunctionTenantRole"


class FakeSts:
    """STS for DynamoDB Local: the credentials keep the test's access key (DynamoDB Local
    keeps one namespace per key) and carry the tenant in their session token."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        tenant = params["Tags"][0]["Value"]
        key = os.environ["AWS_ACCESS_KEY_ID"]
        return {"Credentials": {"AccessKeyId": key, "SecretAccessKey": key,
                                "SessionToken": f"session-of-{tenant}",
                                "Expiration": time.time() + 3600}}


class RecordingRole(TenantRole):
    """Remembers the tenant of every set of credentials the client signed with."""

    signed_as: list[str]
    sts: FakeSts

    def credentials(self, tenant: str) -> Credentials:
        self.signed_as.append(tenant)
        return super().credentials(tenant)


@pytest.fixture(autouse=True)
def fresh_role() -> Iterator[None]:
    tenancy.tenant_role.cache_clear()  # read TENANT_ROLE_ARN again in each test
    yield
    tenancy.tenant_role.cache_clear()


@pytest.fixture
def deployed(shop_db: Client, monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingRole]:
    """The handlers' client as deployed: TENANT_ROLE_ARN set, STS faked (the table was made
    by ``shop_db`` with the test's own credentials)."""
    monkeypatch.setenv("TENANT_ROLE_ARN", ROLE)
    monkeypatch.setenv("TENANT_TAG", "tenant")
    sts = FakeSts()
    role = RecordingRole.from_environment(sts_client=sts)
    assert isinstance(role, RecordingRole)
    role.signed_as, role.sts = [], sts
    monkeypatch.setattr(tenancy, "tenant_role", lambda: role)
    database.cache_clear()  # made again, signing with role.current()
    try:
        yield role
    finally:
        database().close()
        database.cache_clear()


@pytest.mark.integration
def test_each_request_is_signed_with_its_tenants_role(deployed: RecordingRole) -> None:
    acme, globex = Caller("acme"), Caller("globex", "http")
    assert acme("POST", "/tenants/acme/customers", body={
        "customer_id": "c-ada", "email": "ada@acme.example", "name": "Ada"}).status == 201
    assert acme("POST", "/tenants/acme/orders", body={  # a transaction, signed as acme too
        "customer_id": "c-ada",
        "lines": [{"sku": "TEA-1", "quantity": 2, "unit_price": "4.50"}]}).status == 201
    assert acme("GET", "/tenants/acme/customers/c-ada").status == 200
    acme_calls = len(deployed.signed_as)
    assert globex("GET", "/tenants/globex/customers").json["items"] == []
    assert acme("GET", "/tenants/globex/customers").status == 403  # refused before DynamoDB
    assert deployed.signed_as == ["acme"] * acme_calls + ["globex"]
    # the one client, one STS call per tenant (cached for the next requests)
    sts = deployed.sts
    assert [c["Tags"] for c in sts.calls] == [[{"Key": "tenant", "Value": "acme"}],
                                              [{"Key": "tenant", "Value": "globex"}]]
    assert {c["RoleArn"] for c in sts.calls} == {ROLE}
    # outside a request nothing is signed with the function's own (unscoped) credentials
    with pytest.raises(TenantNotSetError, match="no tenant is set"):
        database().get(Customer, tenant="acme", customer_id="c-ada")


def test_without_a_tenant_role_the_functions_own_credentials_sign(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENANT_ROLE_ARN", raising=False)
    assert tenancy.tenant_role() is None
    assert tenancy.signing_credentials() is None  # connect(credentials=None): the usual chain
    with tenancy.acting_as("acme"):  # nothing to switch
        assert tenancy.signing_credentials() is None


def test_the_tenant_role_comes_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, fake_aws_env: None) -> None:
    moto = pytest.importorskip("moto", reason="moto is in the dev extra")
    monkeypatch.setenv("TENANT_ROLE_ARN", ROLE)
    monkeypatch.setenv("TENANT_TAG", "org")
    role = tenancy.tenant_role()
    assert role is not None and (role.role_arn, role.tag) == (ROLE, "org")
    assert tenancy.tenant_role() is role  # one per execution environment
    provider = tenancy.signing_credentials()
    assert provider is not None
    with moto.mock_aws():
        with tenancy.acting_as("acme"):
            assert role.tenant == "acme"
            creds = provider()
        assert creds.access_key and creds.secret_key and creds.token
        assert role.tenant is None
