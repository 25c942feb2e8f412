"""AWS Signature Version 4 for DynamoDB requests, without botocore.

Two entry points:

* :class:`JsonSigner` signs the one request shape the JSON 1.0 protocol uses
  (``POST /``, no query string, headers ``Content-Type``, ``Host``, ``X-Amz-Date``,
  ``X-Amz-Target`` and, with temporary credentials, ``X-Amz-Security-Token``). The fixed
  parts of the canonical request are built once; this is the hot path.
* :func:`sign_request` signs any request the way ``botocore.auth.SigV4Auth.add_auth``
  does (used by tests to prove parity, and by callers with other request shapes).

Both produce byte-for-byte the headers botocore's ``SigV4Auth`` adds for the same
request, time and credentials. For DynamoDB, botocore adds no ``X-Amz-Content-SHA256``
header (payload signing stays on), so neither does this module. A ``Date`` header is not
supported: the time is always sent as ``X-Amz-Date``.

The derived signing key is cached per (secret key, date, region, service): one HMAC per
request instead of five. Nothing here logs or stores credentials beyond that cache.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "UNSIGNED_HEADERS",
    "JsonSigner",
    "SigningCredentials",
    "amz_date",
    "canonical_request",
    "sign_request",
    "signing_key",
    "string_to_sign",
]

ALGORITHM = "AWS4-HMAC-SHA256"
#: SHA-256 of an empty payload.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: Headers botocore never signs (``botocore.auth.SIGNED_HEADERS_BLACKLIST``).
UNSIGNED_HEADERS = frozenset(
    {
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_sha256 = hashlib.sha256


class SigningCredentials(NamedTuple):
    """The three values a signature needs (same fields as botocore's ReadOnlyCredentials)."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"SigningCredentials(access_key={self.access_key!r}, secret_key='***')"


def amz_date(now: float | None = None) -> str:
    """The ``X-Amz-Date`` value (``YYYYMMDDTHHMMSSZ``, UTC) for ``now`` (default: the clock)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))


@lru_cache(maxsize=64)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key for ``date`` (``YYYYMMDD``); cached, it changes once a day."""
    key = hmac.digest(("AWS4" + secret_key).encode(), date.encode(), "sha256")
    for part in (region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def string_to_sign(timestamp: str, scope: str, canonical: str) -> str:
    """The SigV4 string to sign for a canonical request."""
    digest = _sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def _signature(secret_key: str, timestamp: str, region: str, service: str, sts: str) -> str:
    key = signing_key(secret_key, timestamp[:8], region, service)
    return hmac.new(key, sts.encode(), "sha256").hexdigest()


def _authorization(access_key: str, scope: str, signed: str, signature: str) -> str:
    return (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )


class JsonSigner:
    """Signs DynamoDB JSON-protocol requests (``POST /``) for one host and region.

    Args:
        host: the ``Host`` header value (lower case, with the port unless it is the default).
        region: the signing region.
        service: the signing name (``dynamodb``).
        content_type: the ``Content-Type`` header value.
    """

    __slots__ = ("_head", "_region", "_scope_tail", "_service")

    def __init__(
        self,
        host: str,
        region: str,
        service: str = "dynamodb",
        content_type: str = "application/x-amz-json-1.0",
    ) -> None:
        self._region = region
        self._service = service
        self._scope_tail = f"/{region}/{service}/aws4_request"
        self._head = f"POST\n/\n\ncontent-type:{content_type}\nhost:{host}\nx-amz-date:"

    def sign(
        self,
        target: str,
        body: bytes,
        credentials: SigningCredentials,
        timestamp: str | None = None,
    ) -> tuple[str, str]:
        """Sign one request.

        Args:
            target: the ``X-Amz-Target`` value, e.g. ``DynamoDB_20120810.PutItem``.
            body: the exact request body.
            credentials: access key, secret key and optional session token.
            timestamp: the ``X-Amz-Date`` value (default: now).

        Returns:
            ``(x_amz_date, authorization)``; when ``credentials.token`` is set, the
            caller sends it as ``X-Amz-Security-Token`` (it is part of the signature).
        """
        ts = timestamp or amz_date()
        token = credentials.token
        if token:
            canonical = (
                f"{self._head}{ts}\nx-amz-security-token:{token}\nx-amz-target:{target}\n\n"
                f"content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n"
                f"{_sha256(body).hexdigest()}"
            )
            signed = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
        else:
            canonical = (
                f"{self._head}{ts}\nx-amz-target:{target}\n\n"
                f"content-type;host;x-amz-date;x-amz-target\n{_sha256(body).hexdigest()}"
            )
            signed = "content-type;host;x-amz-date;x-amz-target"
        scope = ts[:8] + self._scope_tail
        sts = string_to_sign(ts, scope, canonical)
        sig = _signature(credentials.secret_key, ts, self._region, self._service, sts)
        return ts, _authorization(credentials.access_key, scope, signed, sig)


# --- general signing (botocore SigV4Auth semantics) ---------------------------------------


def _remove_dot_segments(path: str) -> str:
    if not path:
        return "/"
    out: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if out:
                out.pop()
        elif part and part != ".":
            out.append(part)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and out else ""
    return first + "/".join(out) + last


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = [pair.partition("=")[::2] for pair in query.split("&")]
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_headers(headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        lname = name.lower()
        if lname not in UNSIGNED_HEADERS:
            grouped.setdefault(lname, []).append(" ".join(value.split()))
    names = sorted(grouped)
    canonical = "\n".join(f"{n}:{','.join(grouped[n])}" for n in names)
    return canonical, ";".join(n.strip() for n in names)


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    payload_hash: str,
) -> tuple[str, str]:
    """The SigV4 canonical request and its signed-headers list.

    Args:
        method: HTTP method.
        path: the URL path, not yet normalised.
        query: the raw query string (without ``?``), already URL-encoded.
        headers: every header to sign (``host`` included); unsigned ones are skipped.
        payload_hash: hex SHA-256 of the body.
    """
    from urllib.parse import quote

    canonical_headers, signed = _canonical_headers(headers)
    parts = [
        method.upper(),
        quote(_remove_dot_segments(path), safe="/~"),
        _canonical_query(query),
        canonical_headers + "\n",
        signed,
        payload_hash,
    ]
    return "\n".join(parts), signed


def _host_header(scheme: str, hostname: str, port: int | None) -> str:
    host = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return host


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    credentials: SigningCredentials,
    region: str,
    service: str,
    timestamp: str | None = None,
) -> dict[str, str]:
    """Sign a request the way ``botocore.auth.SigV4Auth.add_auth`` does.

    Args:
        method: HTTP method.
        url: the full URL (path and query are signed; ``host`` is derived from it unless
            ``headers`` has one).
        headers: the request headers (case-insensitive; ``Authorization``,
            ``X-Amz-Date`` and ``X-Amz-Security-Token`` are replaced).
        body: the exact request body.
        credentials: access key, secret key and optional session token.
        region: signing region.
        service: signing name, e.g. ``dynamodb``.
        timestamp: the ``X-Amz-Date`` value (default: now).

    Returns:
        The headers to send: ``headers`` without the replaced ones, then ``X-Amz-Date``,
        ``X-Amz-Security-Token`` (with a token) and ``Authorization``.
    """
    from urllib.parse import urlsplit

    ts = timestamp or amz_date()
    replaced = {"authorization", "x-amz-date", "x-amz-security-token"}
    out = {k: v for k, v in headers.items() if k.lower() not in replaced}
    out["X-Amz-Date"] = ts
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    parts = urlsplit(url)
    to_sign = list(out.items())
    if not any(k.lower() == "host" for k in out):
        to_sign.append(("host", _host_header(parts.scheme, parts.hostname or "", parts.port)))
    payload = _sha256(body).hexdigest() if body else EMPTY_SHA256
    given = [v for k, v in out.items() if k.lower() == "x-amz-content-sha256"]
    canonical, signed = canonical_request(
        method, parts.path, parts.query, to_sign, given[0] if given else payload
    )
    scope = f"{ts[:8]}/{region}/{service}/aws4_request"
    sig = _signature(
        credentials.secret_key, ts, region, service, string_to_sign(ts, scope, canonical)
    )
    out["Authorization"] = _authorization(credentials.access_key, scope, signed, sig)
    return out
