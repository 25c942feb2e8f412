"""Per-tenant AWS credentials: IAM's ``dynamodb:LeadingKeys`` as a second wall.

The handler already builds every key from the verified tenant claim. When
``TENANT_ROLE_ARN`` is set (the SAM template sets it, with ``TENANT_TAG``, for a function
declared with ``TenantIsolation()``), each request's DynamoDB calls are also signed with
that role, assumed with the caller's tenant as session tag. The role's policy allows only
items whose partition key starts with ``TENANT#<tag>#``, so a bug that built another
tenant's key would get AccessDenied from DynamoDB, not that tenant's data.

The one client stays one client: its transport asks :func:`signing_credentials` before
each request, and gets the current request's tenant credentials (assumed once per tenant
and reused until shortly before they expire). Without ``TENANT_ROLE_ARN`` (local runs,
tests) the function's own credentials sign everything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

from dyntable.transport.credentials import Credentials, CredentialsProvider, credentials_provider

__all__ = ["acting_as", "assume_tenant_role", "signing_credentials"]

SESSION_SECONDS = 900  # STS minimum; renewed a minute before expiry
_tenant: ContextVar[str | None] = ContextVar("shop_tenant", default=None)
_assumed: dict[str, tuple[Credentials, float]] = {}


@contextmanager
def acting_as(tenant: str) -> Iterator[None]:
    """Sign the DynamoDB calls made inside the block as ``tenant`` (when a role is set)."""
    token = _tenant.set(tenant)
    try:
        yield
    finally:
        _tenant.reset(token)


def assume_tenant_role(role_arn: str, tag: str, tenant: str) -> tuple[Credentials, float]:
    """Credentials of ``role_arn`` with the session tag ``tag=tenant``, and their expiry."""
    import boto3  # in the Lambda runtime; only needed when tenant roles are used

    sts: Any = boto3.client("sts")
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=f"tenant-{tenant}",
                             Tags=[{"Key": tag, "Value": tenant}],
                             DurationSeconds=SESSION_SECONDS)
    c = answer["Credentials"]
    creds = Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    return creds, c["Expiration"].timestamp()


@cache
def _own() -> CredentialsProvider:
    return credentials_provider(None)  # the function's role (environment, else botocore)


def signing_credentials() -> Credentials:
    """The client's credentials provider, called by its transport before each request."""
    role_arn, tenant = os.environ.get("TENANT_ROLE_ARN"), _tenant.get()
    if not role_arn or tenant is None:
        return _own()()
    held = _assumed.get(tenant)
    if held is None or held[1] - time.time() < 60:
        held = assume_tenant_role(role_arn, os.environ.get("TENANT_TAG", "tenant"), tenant)
        _assumed[tenant] = held
    return held[0]
