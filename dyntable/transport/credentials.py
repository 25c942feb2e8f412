"""Credentials, region and endpoint for the direct HTTP transport.

Resolution order, chosen so a Lambda cold start never imports botocore:

* credentials: an explicit value; else ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``
  (with ``AWS_SESSION_TOKEN``, or the older ``AWS_SECURITY_TOKEN``) as Lambda sets them;
  else botocore's full chain (profiles, SSO, web identity, container, IMDS), loaded on
  first use. Refreshable credentials are re-read before every request, so they are
  refreshed when they near expiry.
* region: an explicit value; else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``; else botocore's
  configuration (``~/.aws/config``, ``AWS_PROFILE``), loaded on demand; else
  ``us-east-1`` when an endpoint URL is given (DynamoDB Local).
* endpoint: an explicit URL; else ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL``
  (unless ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is true); else the regional endpoint
  ``https://dynamodb.<region>.<partition suffix>`` (``.amazonaws.com.cn`` in China).
  Region ``local`` means ``http://localhost:8000``.

FIPS endpoints (``use_fips`` or ``AWS_USE_FIPS_ENDPOINT=true``) are supported where
DynamoDB has them: ``dynamodb-fips.<region>.amazonaws.com`` in us-east-1, us-east-2,
us-west-1, us-west-2, ca-central-1 and ca-west-1, and ``dynamodb.<region>.amazonaws.com``
in the GovCloud regions (FIPS already). Elsewhere FIPS is refused; pass ``endpoint_url``.
Dual-stack endpoints (``use_dualstack`` or ``AWS_USE_DUALSTACK_ENDPOINT=true``) use the
partition's dual-stack suffix (``dynamodb.<region>.api.aws``). Account-ID based endpoints
and endpoint URLs from the shared config file are not used.

While moto's ``mock_aws`` is active a real AWS endpoint is refused
(:mod:`dyntable._internal.transport.moto_guard`): moto would not see the request.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from dyntable._internal.transport.moto_guard import active_moto_mock, refuse_real_endpoint
from dyntable._internal.transport.sigv4 import SigningCredentials
from dyntable.errors import ConfigurationError

__all__ = [
    "Credentials",
    "CredentialsProvider",
    "Endpoint",
    "NoCredentialsFoundError",
    "botocore_credentials",
    "configured_endpoint_url",
    "credentials_provider",
    "env_credentials",
    "is_aws_endpoint",
    "may_block",
    "missing_credentials_error",
    "parse_endpoint",
    "resolve_endpoint",
    "resolve_region",
]

#: Static credentials (access key, secret key, optional session token).
Credentials = SigningCredentials
#: Returns the credentials to sign the next request with (called once per attempt).
CredentialsProvider = Callable[[], SigningCredentials]

_FIPS_REGIONS = frozenset(
    {"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1"}
)
_GOV_REGIONS = frozenset({"us-gov-east-1", "us-gov-west-1"})
# Region prefix -> (DNS suffix, dual-stack DNS suffix), from botocore's partitions.json.
_PARTITIONS: tuple[tuple[str, str, str], ...] = (
    ("cn-", "amazonaws.com.cn", "api.amazonwebservices.com.cn"),
    ("us-gov-", "amazonaws.com", "api.aws"),
    ("us-isob-", "sc2s.sgov.gov", "api.aws.scloud"),
    ("us-isof-", "csp.hci.ic.gov", "api.aws.hci.ic.gov"),
    ("us-iso-", "c2s.ic.gov", "api.aws.ic.gov"),
    ("eu-isoe-", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"),
    ("eusc-", "amazonaws.eu", "api.amazonwebservices.eu"),
)
_AWS_DNS_SUFFIXES = tuple(sorted(
    {"amazonaws.com", "api.aws", *(dns for _, dns, _ in _PARTITIONS),
     *(dualstack for _, _, dualstack in _PARTITIONS)}
))
_TRUE = ("1", "true", "yes", "on")


@runtime_checkable
class _FrozenSource(Protocol):
    def get_frozen_credentials(self) -> Any: ...


def env_credentials() -> SigningCredentials | None:
    """Credentials from the environment (as Lambda provides them), or ``None``."""
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return None
    token = os.environ.get("AWS_SESSION_TOKEN") or os.environ.get("AWS_SECURITY_TOKEN")
    return SigningCredentials(key, secret, token or None)


class _Frozen:
    """Adapts botocore-style credentials (``get_frozen_credentials()``) to a provider."""

    __slots__ = ("_last", "_source")

    def __init__(self, source: Any) -> None:
        self._source = source
        self._last: tuple[Any, SigningCredentials] | None = None

    def __call__(self) -> SigningCredentials:
        frozen = self._source.get_frozen_credentials()
        last = self._last
        if last is not None and last[0] is frozen:
            return last[1]
        creds = SigningCredentials(frozen.access_key, frozen.secret_key, frozen.token or None)
        self._last = (frozen, creds)
        return creds

    def may_block(self) -> bool:
        """True when the next call refreshes (I/O): botocore's refresh window is reached."""
        check = getattr(self._source, "refresh_needed", None)
        return bool(check()) if callable(check) else False


class _BotocoreChain:
    """botocore's default credential chain, loaded once on first use (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._provider: _Frozen | None = None

    def __call__(self) -> SigningCredentials:
        provider = self._provider
        if provider is None:
            with self._lock:
                if self._provider is None:
                    self._provider = _Frozen(_load_botocore_credentials())
                provider = self._provider
        return provider()

    def may_block(self) -> bool:
        """True until the chain is loaded, then while its credentials need a refresh."""
        provider = self._provider
        return provider is None or provider.may_block()


class NoCredentialsFoundError(LookupError):
    """No credentials in the environment nor in botocore's chain."""


def _load_botocore_credentials() -> Any:
    try:
        import botocore.session
    except ImportError:  # a bundle built without boto3/botocore (docs/lambda.md)
        raise NoCredentialsFoundError(
            "no AWS credentials in the environment (AWS_ACCESS_KEY_ID / "
            "AWS_SECRET_ACCESS_KEY), and botocore, which reads shared files, SSO, container "
            "and instance credentials, is not installed: set the environment variables or "
            "install boto3"
        ) from None

    creds = botocore.session.get_session().get_credentials()
    if creds is None:
        raise NoCredentialsFoundError(
            "no AWS credentials found (environment, shared files, SSO, container or IMDS)"
        )
    return creds


def may_block(provider: CredentialsProvider) -> bool:
    """Whether calling ``provider`` now may block on I/O.

    True while botocore's chain is not loaded yet (it may reach IMDS, a container endpoint,
    SSO), and when botocore credentials are due for a refresh. Static credentials and your
    own callables are taken not to block. The async transport calls a provider in a worker
    thread when this is true, and in the event loop otherwise.
    """
    check = getattr(provider, "may_block", None)
    return bool(check()) if callable(check) else False


def botocore_credentials() -> CredentialsProvider:
    """A provider over botocore's default credential chain, resolved on first call."""
    return _BotocoreChain()


def is_aws_endpoint(url: str) -> bool:
    """Whether ``url`` is a real AWS endpoint (its host is under an AWS partition's domain)."""
    host = Endpoint(url).host
    return any(host == suffix or host.endswith("." + suffix) for suffix in _AWS_DNS_SUFFIXES)


def missing_credentials_error(exc: Exception, endpoint_url: str) -> ConfigurationError:
    """The error for credentials that could not be loaded, saying how to provide them.

    Against a local or custom endpoint (DynamoDB Local, an emulator) any keys are accepted,
    and the message says so and shows how to set dummy ones.

    Args:
        exc: why the credential provider failed.
        endpoint_url: the endpoint the request was for.
    """
    text = f"cannot load AWS credentials: {exc}"
    if not is_aws_endpoint(endpoint_url):
        return ConfigurationError(
            f"{text}. {endpoint_url} is not an AWS endpoint: DynamoDB Local (and moto's "
            "server) accept any keys, so dummy ones will do: set AWS_ACCESS_KEY_ID=dummy and "
            "AWS_SECRET_ACCESS_KEY=dummy in the environment, or pass "
            "HttpTransport(credentials=Credentials('dummy', 'dummy')) (Credentials is in "
            "dyntable.transport.credentials)"
        )
    return ConfigurationError(
        f"{text}. Configure them as for the AWS CLI: AWS_PROFILE / `aws configure` / "
        "`aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )


def credentials_provider(
    credentials: SigningCredentials | CredentialsProvider | Any | None = None,
) -> CredentialsProvider:
    """Turn what the user passed into a provider called before each request.

    Args:
        credentials: ``None`` (environment, then botocore's chain), a
            :data:`Credentials` value, an object with ``get_frozen_credentials()``
            (botocore or boto3 credentials, refreshable ones included), or a callable
            returning :data:`Credentials`.
    """
    if credentials is None:
        found = env_credentials()
        return _constant(found) if found is not None else botocore_credentials()
    if isinstance(credentials, SigningCredentials):
        return _constant(credentials)
    if isinstance(credentials, _FrozenSource):
        return _Frozen(credentials)
    if callable(credentials):
        provider: CredentialsProvider = credentials
        return provider
    raise TypeError(f"unsupported credentials type: {type(credentials).__name__}")


def _constant(creds: SigningCredentials) -> CredentialsProvider:
    def provider() -> SigningCredentials:
        return creds

    return provider


def resolve_region(region: str | None = None, *, endpoint_url: str | None = None) -> str:
    """The region to sign with.

    Raises:
        ConfigurationError: when no region is configured anywhere and no endpoint URL is given.
    """
    found = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not found:
        found = _botocore_region()
    if not found and endpoint_url:
        found = "us-east-1"
    if not found:
        raise ConfigurationError(
            "no AWS region: pass region=..., or set AWS_REGION / AWS_DEFAULT_REGION"
        )
    return found


def _botocore_region() -> str | None:
    try:
        import botocore.session
    except ImportError:  # pragma: no cover - botocore ships with dyntable
        return None
    try:
        value = botocore.session.get_session().get_config_variable("region")
    except Exception as exc:  # botocore's ProfileNotFound, ConfigParseError...
        raise ConfigurationError(f"cannot read the AWS region from the AWS config: {exc}") from exc
    return str(value) if value else None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def configured_endpoint_url() -> str | None:
    """The endpoint from ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL``, if any."""
    if _env_flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        return None
    return os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")


def _partition(region: str) -> tuple[str, str]:
    for prefix, dns, dualstack in _PARTITIONS:
        if region.startswith(prefix):
            return dns, dualstack
    return "amazonaws.com", "api.aws"


def _regional_endpoint(region: str, fips: bool, dualstack: bool) -> str:
    dns, dualstack_dns = _partition(region)
    suffix = dualstack_dns if dualstack else dns
    if not fips:
        return f"https://dynamodb.{region}.{suffix}"
    if region in _GOV_REGIONS and not dualstack:
        return f"https://dynamodb.{region}.{suffix}"
    if region in _FIPS_REGIONS or region in _GOV_REGIONS:
        return f"https://dynamodb-fips.{region}.{suffix}"
    raise ConfigurationError(
        f"DynamoDB has no FIPS endpoint known to dyntable in {region}; pass endpoint_url"
    )


def resolve_endpoint(
    region: str,
    endpoint_url: str | None = None,
    *,
    use_fips: bool | None = None,
    use_dualstack: bool | None = None,
) -> str:
    """The endpoint URL for ``region`` (see the module docstring for the rules).

    Raises:
        ConfigurationError: FIPS or dual-stack asked together with an endpoint URL, or FIPS in a
            region without a FIPS endpoint; or a real AWS endpoint while moto's ``mock_aws``
            is active.
    """
    fips = _env_flag("AWS_USE_FIPS_ENDPOINT") if use_fips is None else use_fips
    dualstack = _env_flag("AWS_USE_DUALSTACK_ENDPOINT") if use_dualstack is None else use_dualstack
    url = endpoint_url or configured_endpoint_url()
    if url or region == "local":
        if fips or dualstack:
            raise ConfigurationError(
                "FIPS and dual-stack cannot be combined with a custom or local endpoint"
            )
        url = url or "http://localhost:8000"
    else:
        url = _regional_endpoint(region, fips, dualstack)
    if active_moto_mock() is not None and is_aws_endpoint(url):
        refuse_real_endpoint(url)
    return url


class Endpoint:
    """A parsed endpoint URL: scheme, host, port and the signed ``Host`` header value.

    Args:
        url: ``http(s)://host[:port][/]``; a path other than ``/`` is refused.
    """

    __slots__ = ("host", "host_header", "port", "scheme", "url")

    def __init__(self, url: str) -> None:
        scheme, sep, rest = url.partition("://")
        scheme = scheme.lower()
        if not sep or scheme not in ("http", "https"):
            raise ConfigurationError(f"endpoint URL must start with http:// or https://: {url!r}")
        authority, _, path = rest.partition("/")
        if path.strip("/"):
            raise ConfigurationError(f"endpoint URL must not have a path: {url!r}")
        authority = authority.rpartition("@")[2]
        host, port = _split_authority(authority)
        if not host:
            raise ConfigurationError(f"endpoint URL has no host: {url!r}")
        default = 443 if scheme == "https" else 80
        self.url = url
        self.scheme = scheme
        self.host = host
        self.port = port or default
        shown = f"[{host}]" if ":" in host else host
        self.host_header = shown if self.port == default else f"{shown}:{self.port}"

    def __repr__(self) -> str:
        return f"Endpoint({self.scheme}://{self.host_header})"


def _split_authority(authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = authority.partition(":")
    if port and not port.isdigit():
        raise ConfigurationError(f"bad port in endpoint: {authority!r}")
    return host.lower(), int(port) if port else None


def parse_endpoint(url: str) -> Endpoint:
    """Parse an endpoint URL (see :class:`Endpoint`)."""
    return Endpoint(url)
