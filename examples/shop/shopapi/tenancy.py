"""Per-tenant AWS credentials: IAM's ``dynamodb:LeadingKeys`` as a second wall.

The handler already builds every key from the verified tenant claim. When
``TENANT_ROLE_ARN`` is set (the SAM template sets it, with ``TENANT_TAG``, for a function
declared with ``TenantIsolation()``), each request's DynamoDB calls are also signed with
that role, assumed with the caller's tenant as session tag. The role's policy allows only
items whose partition key starts with ``TENANT#<tag>#``, so a bug that built another
tenant's key would get AccessDenied from DynamoDB, not that tenant's data.

The one client stays one client: it signs with ``TenantRole.current()``, the credentials
of the tenant set by :func:`acting_as` around each request (assumed once per tenant and
reused until shortly before they expire, by :class:`dyntable.deploy.TenantRole`). A call
outside ``acting_as`` is refused rather than signed with the function's own role. Without
``TENANT_ROLE_ARN`` (local runs, tests) the function's own credentials sign everything.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from dyntable.deploy.tenant import TenantRole
from dyntable.transport.credentials import CredentialsProvider

__all__ = ["acting_as", "signing_credentials", "tenant_role"]


@functools.cache
def tenant_role() -> TenantRole | None:
    """The role named by ``TENANT_ROLE_ARN`` / ``TENANT_TAG``, or ``None`` when unset."""
    return TenantRole.from_environment()


def signing_credentials() -> CredentialsProvider | None:
    """What the client signs with: the current request's tenant credentials when a tenant
    role is set, else ``None`` (the function's own credentials)."""
    role = tenant_role()
    return None if role is None else role.current()


@contextmanager
def acting_as(tenant: str) -> Iterator[None]:
    """Sign the DynamoDB calls made inside the block as ``tenant`` (when a role is set)."""
    role = tenant_role()
    if role is None:
        yield
        return
    with role.acting_as(tenant):
        yield
