"""TenantRole: one AssumeRole per tenant with the tenant as session tag, cached until expiry."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from dyntable.deploy import DeployDeclarationError, TenantRole

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
