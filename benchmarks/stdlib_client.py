"""A hand-written reference client: ``http.client`` + ``json`` + SigV4, nothing else.

It is the floor a Python library can hope for on these benchmarks: one keep-alive
connection, the request body written with ``json.dumps``, the answer read with
``json.loads``, and the items encoded and decoded by hand (as the raw boto3 contender does,
:func:`~benchmarks.items.raw_encode` / :func:`~benchmarks.items.raw_decode`). No retries,
no error mapping beyond raising on a non-2xx answer: a benchmark reference, not a client.

The signature follows the AWS Signature Version 4 documentation for a JSON POST to ``/``
with no query string; the signing key is derived once per UTC day.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

__all__ = ["StdlibClient"]

_SIGNED = "content-type;host;x-amz-date;x-amz-target"
_TYPE = "application/x-amz-json-1.0"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


class StdlibClient:
    """DynamoDB calls over one ``http.client`` connection, signed by hand.

    Args:
        endpoint: e.g. ``http://127.0.0.1:8000``.
        region: the signing region.
        access_key / secret_key: the credentials signed with.
    """

    def __init__(self, endpoint: str, region: str, access_key: str, secret_key: str) -> None:
        url = urlsplit(endpoint)
        self._host = url.netloc
        self._conn = http.client.HTTPConnection(url.hostname or "localhost", url.port or 80)
        self._region = region
        self._access = access_key
        self._secret = secret_key
        self._day = ""
        self._key = b""

    def _signing_key(self, day: str) -> bytes:
        if day != self._day:
            key = _hmac(("AWS4" + self._secret).encode(), day)
            for part in (self._region, "dynamodb", "aws4_request"):
                key = _hmac(key, part)
            self._day, self._key = day, key
        return self._key

    def headers(self, target: str, body: bytes, stamp: str | None = None) -> dict[str, str]:
        """The signed headers of a request (``stamp``: ``YYYYMMDDTHHMMSSZ``, default now)."""
        stamp = stamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        day = stamp[:8]
        canonical = (
            f"POST\n/\n\ncontent-type:{_TYPE}\nhost:{self._host}\nx-amz-date:{stamp}\n"
            f"x-amz-target:{target}\n\n{_SIGNED}\n{hashlib.sha256(body).hexdigest()}"
        )
        scope = f"{day}/{self._region}/dynamodb/aws4_request"
        to_sign = (f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n"
                   f"{hashlib.sha256(canonical.encode()).hexdigest()}")
        signature = hmac.new(self._signing_key(day), to_sign.encode(),
                             hashlib.sha256).hexdigest()
        return {
            "Content-Type": _TYPE,
            "X-Amz-Date": stamp,
            "X-Amz-Target": target,
            "Authorization": (f"AWS4-HMAC-SHA256 Credential={self._access}/{scope}, "
                              f"SignedHeaders={_SIGNED}, Signature={signature}"),
        }

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one operation; return the decoded JSON answer (raises on a non-2xx)."""
        body = json.dumps(params, separators=(",", ":")).encode()
        target = "DynamoDB_20120810." + operation
        try:
            response = self._send(target, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed the idle keep-alive connection: connect again, once.
            self._conn.close()
            response = self._send(target, body)
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{operation}: HTTP {response.status}: {data[:200]!r}")
        answer: dict[str, Any] = json.loads(data)
        return answer

    def _send(self, target: str, body: bytes) -> http.client.HTTPResponse:
        self._conn.request("POST", "/", body, self.headers(target, body))
        return self._conn.getresponse()

    def pages(self, operation: str, params: dict[str, Any]) -> Any:
        """Every page of a Query or Scan (an iterator of answers)."""
        params = dict(params)
        while True:
            page = self.call(operation, params)
            yield page
            last = page.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last

    def batch_write(self, table: str, items: list[dict[str, Any]]) -> None:
        """Write ``items`` (wire form) in chunks of 25, one request at a time, re-sending
        ``UnprocessedItems``."""
        for start in range(0, len(items), 25):
            pending: dict[str, Any] = {
                table: [{"PutRequest": {"Item": it}} for it in items[start:start + 25]]
            }
            while pending:
                answer = self.call("BatchWriteItem", {"RequestItems": pending})
                pending = answer.get("UnprocessedItems") or {}

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
