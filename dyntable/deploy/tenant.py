"""Per-tenant credentials for the assume-role pattern of tenant isolation.

A Lambda function behind API Gateway has one role for every caller, so a
``dynamodb:LeadingKeys`` condition on ``${aws:PrincipalTag/tenant}`` needs credentials
that carry the caller's tenant: the function assumes the tenant role (made by
``dyntable export sam``, its ARN in ``$TENANT_ROLE_ARN``) with the tenant as session tag,
and talks to DynamoDB with those credentials::

    role = TenantRole.from_environment()          # None when the function is not isolated
    db = table.connect(credentials=role.provider(tenant))

Credentials are cached per tenant until shortly before they expire, so a warm function
calls STS once per tenant and hour, not per request. boto3's STS client is loaded on first
use (the Lambda runtime carries boto3).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from dyntable.deploy.errors import DeployDeclarationError
from dyntable.transport.credentials import Credentials, CredentialsProvider

__all__ = ["TenantRole"]

# What STS accepts in a session tag value, minus the space.
_TENANT = re.compile(r"^[\w.:/=+@-]{1,256}$")


class TenantRole:
    """Assumes the tenant role with the tenant as session tag; caches per tenant.

    Args:
        role_arn: the tenant role's ARN.
        tag: the session tag key (the policy reads ``${aws:PrincipalTag/<tag>}``).
        duration: seconds the credentials last (900 to the role's maximum).
        refresh_margin: seconds before expiry at which credentials are renewed.
        max_tenants: tenants whose credentials are kept (least recently used go first).
        sts_client: an STS client (default: ``boto3.client("sts")`` on first use).
        clock: seconds since the epoch (tests pass a fake one).
    """

    def __init__(
        self,
        role_arn: str,
        *,
        tag: str = "tenant",
        duration: int = 3600,
        refresh_margin: float = 300.0,
        max_tenants: int = 1024,
        sts_client: Any = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not role_arn.startswith("arn:") or ":role/" not in role_arn:
            raise DeployDeclarationError(f"TenantRole: not a role ARN: {role_arn!r}")
        if not 900 <= duration <= 43200:
            raise DeployDeclarationError(
                f"TenantRole: duration is 900 to 43200 seconds, not {duration}")
        self.role_arn = role_arn
        self.tag = tag
        self.duration = duration
        self.refresh_margin = refresh_margin
        self.max_tenants = max_tenants
        self._sts = sts_client
        self._clock = clock
        self._cache: OrderedDict[str, tuple[Credentials, float]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None,
                         **options: Any) -> TenantRole | None:
        """The role named by ``$TENANT_ROLE_ARN`` (and ``$TENANT_TAG``), or ``None``."""
        env = os.environ if environ is None else environ
        arn = env.get("TENANT_ROLE_ARN")
        if not arn:
            return None
        return cls(arn, tag=env.get("TENANT_TAG") or "tenant", **options)

    def credentials(self, tenant: str) -> Credentials:
        """Credentials confined to ``tenant`` (cached until ``refresh_margin`` before expiry).

        Raises:
            ValueError: ``tenant`` is not a valid session tag value.
        """
        if not isinstance(tenant, str) or not _TENANT.match(tenant):
            raise ValueError(f"tenant {tenant!r} is not a valid session tag value")
        now = self._clock()
        with self._lock:
            cached = self._cache.get(tenant)
            if cached is not None and cached[1] - self.refresh_margin > now:
                self._cache.move_to_end(tenant)
                return cached[0]
        creds, expires = self._assume(tenant)
        with self._lock:
            self._cache[tenant] = (creds, expires)
            self._cache.move_to_end(tenant)
            while len(self._cache) > self.max_tenants:
                self._cache.popitem(last=False)
        return creds

    def provider(self, tenant: str) -> CredentialsProvider:
        """A credentials provider for a client (``table.connect(credentials=...)``)."""
        return lambda: self.credentials(tenant)

    def _assume(self, tenant: str) -> tuple[Credentials, float]:
        if self._sts is None:
            import boto3

            self._sts = boto3.client("sts")
        session = re.sub(r"[^\w+=,.@-]", "-", f"tenant-{tenant}")[:64]
        answer = self._sts.assume_role(
            RoleArn=self.role_arn, RoleSessionName=session, DurationSeconds=self.duration,
            Tags=[{"Key": self.tag, "Value": tenant}])
        c = answer["Credentials"]
        expires = c["Expiration"]
        stamp = expires.timestamp() if hasattr(expires, "timestamp") else float(expires)
        return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]), stamp
