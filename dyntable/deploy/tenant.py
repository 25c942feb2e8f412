"""Per-tenant credentials for the assume-role pattern of tenant isolation.

A Lambda function behind API Gateway has one role for every caller, so a
``dynamodb:LeadingKeys`` condition on ``${aws:PrincipalTag/tenant}`` needs credentials
that carry the caller's tenant: the function assumes the tenant role (made by
``dyntable export sam``, its ARN in ``$TENANT_ROLE_ARN``) with the tenant as session tag,
and talks to DynamoDB with those credentials. One client serves every tenant: it signs
each request with the credentials of the tenant set by :meth:`TenantRole.acting_as`::

    role = TenantRole.from_environment()          # None when the function is not isolated
    db = table.connect(credentials=role.current())

    def handler(event, context):
        with role.acting_as(tenant_from_claims(event)):
            ...                                   # every call here is signed as that tenant

A request outside any ``acting_as`` block raises :class:`TenantNotSetError` (wrapped by the
transport in a ``ConfigurationError``) unless a fallback provider was given: it is never
signed with unscoped credentials by accident. ``role.provider(tenant)`` gives one fixed
tenant's credentials instead, for a client per tenant.

Credentials are cached per tenant until shortly before they expire, so a warm function
calls STS once per tenant and hour, not per request; concurrent first requests of one
tenant share one STS call. boto3's STS client is loaded on first use (the Lambda runtime
carries boto3), so importing this module stays light.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from dyntable.deploy.errors import DeployDeclarationError
from dyntable.errors import DyntableError
from dyntable.transport.credentials import Credentials, CredentialsProvider, may_block

__all__ = ["TenantNotSetError", "TenantRole"]

# What STS accepts in a session tag value, minus the space.
_TENANT = re.compile(r"^[\w.:/=+@-]{1,256}$")


class TenantNotSetError(DyntableError, LookupError):
    """Credentials of the current tenant were asked for outside any ``acting_as`` block."""


def _check_tenant(tenant: object) -> str:
    if not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise ValueError(f"tenant {tenant!r} is not a valid session tag value")
    return tenant


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
        self._assuming: dict[str, threading.Lock] = {}  # one STS call per tenant at a time
        # One variable per role (made once per process, like the role): a block of one
        # role never sets the tenant of another.
        self._tenant: ContextVar[str | None] = ContextVar(
            f"dyntable_tenant_{id(self):x}", default=None)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None,
                         **options: Any) -> TenantRole | None:
        """The role named by ``$TENANT_ROLE_ARN`` (and ``$TENANT_TAG``), or ``None``."""
        env = os.environ if environ is None else environ
        arn = env.get("TENANT_ROLE_ARN")
        if not arn:
            return None
        return cls(arn, tag=env.get("TENANT_TAG") or "tenant", **options)

    # -- one tenant ----------------------------------------------------------------------

    def credentials(self, tenant: str) -> Credentials:
        """Credentials confined to ``tenant`` (cached until ``refresh_margin`` before expiry).

        Raises:
            ValueError: ``tenant`` is not a valid session tag value.
        """
        _check_tenant(tenant)
        cached = self._fresh(tenant)
        if cached is not None:
            return cached
        with self._lock:
            assuming = self._assuming.setdefault(tenant, threading.Lock())
        with assuming:
            cached = self._fresh(tenant)  # another thread assumed it while this one waited
            if cached is not None:
                return cached
            creds, expires = self._assume(tenant)
            with self._lock:
                self._cache[tenant] = (creds, expires)
                self._cache.move_to_end(tenant)
                while len(self._cache) > self.max_tenants:
                    self._cache.popitem(last=False)
                if self._assuming.get(tenant) is assuming:
                    del self._assuming[tenant]
        return creds

    def provider(self, tenant: str) -> CredentialsProvider:
        """A provider of ``tenant``'s credentials, for a client of that tenant alone.

        Raises:
            ValueError: ``tenant`` is not a valid session tag value.
        """
        return _TenantCredentials(self, _check_tenant(tenant))

    # -- the tenant of the current request (one client for every tenant) -------------------

    @contextmanager
    def acting_as(self, tenant: str) -> Iterator[None]:
        """Make ``tenant`` the current tenant inside the block (this thread or asyncio task).

        Blocks nest (the inner tenant wins until it ends). The tenant is held in a
        :class:`~contextvars.ContextVar`: asyncio tasks and ``asyncio.to_thread`` see the
        tenant of the code that started them; a thread started with ``threading.Thread``
        does not.

        Raises:
            ValueError: ``tenant`` is not a valid session tag value (on entering the block).
        """
        token = self._tenant.set(_check_tenant(tenant))
        try:
            yield
        finally:
            self._tenant.reset(token)

    @property
    def tenant(self) -> str | None:
        """The tenant set by the innermost :meth:`acting_as` block here, or ``None``."""
        return self._tenant.get()

    def current(self, fallback: CredentialsProvider | None = None) -> CredentialsProvider:
        """A provider of the current tenant's credentials, for a client shared by all tenants.

        Args:
            fallback: what to sign with outside any :meth:`acting_as` block (e.g.
                ``credentials_provider()``, the function's own credentials); without it such
                a request raises :class:`TenantNotSetError`.
        """
        return _CurrentTenantCredentials(self, fallback)

    # -- internals -------------------------------------------------------------------------

    def _fresh(self, tenant: str) -> Credentials | None:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(tenant)
            if cached is not None and cached[1] - self.refresh_margin > now:
                self._cache.move_to_end(tenant)
                return cached[0]
        return None

    def _is_fresh(self, tenant: str) -> bool:
        cached = self._cache.get(tenant)
        return cached is not None and cached[1] - self.refresh_margin > self._clock()

    def _assume(self, tenant: str) -> tuple[Credentials, float]:
        sts = self._sts
        if sts is None:
            import boto3

            with self._lock:
                if self._sts is None:
                    self._sts = boto3.client("sts")
                sts = self._sts
        session = re.sub(r"[^\w+=,.@-]", "-", f"tenant-{tenant}")[:64]
        answer = sts.assume_role(
            RoleArn=self.role_arn, RoleSessionName=session, DurationSeconds=self.duration,
            Tags=[{"Key": self.tag, "Value": tenant}])
        c = answer["Credentials"]
        expires = c["Expiration"]
        stamp = expires.timestamp() if hasattr(expires, "timestamp") else float(expires)
        return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]), stamp


class _TenantCredentials:
    """One tenant's credentials (``TenantRole.provider``)."""

    __slots__ = ("_role", "_tenant")

    def __init__(self, role: TenantRole, tenant: str) -> None:
        self._role = role
        self._tenant = tenant

    def __call__(self) -> Credentials:
        return self._role.credentials(self._tenant)

    def may_block(self) -> bool:
        """True when the next call asks STS (the async transport then uses a thread)."""
        return not self._role._is_fresh(self._tenant)


class _CurrentTenantCredentials:
    """The current tenant's credentials (``TenantRole.current``)."""

    __slots__ = ("_fallback", "_role")

    def __init__(self, role: TenantRole, fallback: CredentialsProvider | None) -> None:
        self._role = role
        self._fallback = fallback

    def __call__(self) -> Credentials:
        tenant = self._role._tenant.get()
        if tenant is not None:
            return self._role.credentials(tenant)
        if self._fallback is not None:
            return self._fallback()
        raise TenantNotSetError(
            f"no tenant is set for {self._role.role_arn}: make DynamoDB calls inside "
            "`with role.acting_as(tenant):`, or pass role.current(fallback=...) to sign "
            "calls outside one with other credentials")

    def may_block(self) -> bool:
        """True when the next call asks STS (or the fallback may block)."""
        tenant = self._role._tenant.get()
        if tenant is not None:
            return not self._role._is_fresh(tenant)
        return self._fallback is not None and may_block(self._fallback)
