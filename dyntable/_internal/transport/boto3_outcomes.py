"""Ambiguous attempts under botocore's own retries (for :class:`~.boto3.Boto3Transport`).

botocore retries a failed call by itself. dyntable needs two things it does not offer: to
know whether an attempt of a write may have been applied (a 5xx, a read timeout or a
dropped connection after sending, a success whose CRC32 does not match), and to stop the
retries of a write that must not be resent (see :func:`~.base.resend_allowed`).

:func:`observe` registers a handler first on the client's public ``needs-retry`` event,
which botocore emits after every attempt before deciding to retry. The handler looks only
at write operations sent by a :class:`~.boto3.Boto3Transport` call (a context variable
holds the call's state), records an ambiguous attempt, and ends the call with
:class:`Stopped` when such an attempt must not be resent. Calls made on the same client
outside the transport are left alone.
"""

from __future__ import annotations

import zlib
from contextvars import ContextVar
from typing import Any

from dyntable.transport.base import WRITE_OPERATIONS, resend_allowed

__all__ = ["CallState", "Stopped", "observe", "state"]


class CallState:
    """What the handler learnt about the attempts of one call."""

    __slots__ = ("ambiguous",)

    def __init__(self) -> None:
        self.ambiguous = False


class Stopped(Exception):
    """Raised through botocore to stop retrying an attempt that may have been applied."""

    def __init__(self, response: Any, exception: BaseException | None) -> None:
        super().__init__("ambiguous attempt of a non-idempotent write; not resent")
        self.response = response
        self.exception = exception


state: ContextVar[CallState | None] = ContextVar("dyntable_boto3_call", default=None)

# botocore exceptions raised before the request left (nothing can have been applied).
_NOT_SENT = frozenset({
    "EndpointConnectionError", "ConnectTimeoutError", "ProxyConnectionError",
    "SSLError", "NoCredentialsError", "UnknownEndpointError",
})


def _crc_mismatch(http_response: Any) -> bool:
    expected = (getattr(http_response, "headers", None) or {}).get("x-amz-crc32")
    if expected is None:
        return False
    try:
        return int(expected) != zlib.crc32(http_response.content) & 0xFFFFFFFF
    except (TypeError, ValueError):
        return True


def maybe_applied(response: Any, exception: BaseException | None) -> bool:
    """Whether an attempt that ended with ``response`` / ``exception`` may have applied."""
    if exception is not None:
        return type(exception).__name__ not in _NOT_SENT
    if not response:
        return False
    http_response = response[0]
    status = getattr(http_response, "status_code", 0)
    if status >= 500:
        return True
    return 200 <= status < 300 and _crc_mismatch(http_response)


def _handler(response: Any = None, caught_exception: BaseException | None = None,
             operation: Any = None, **_: Any) -> None:
    call = state.get()
    if call is None or getattr(operation, "name", None) not in WRITE_OPERATIONS:
        return None
    if not maybe_applied(response, caught_exception):
        return None
    call.ambiguous = True
    if not resend_allowed():
        raise Stopped(response, caught_exception)
    return None


def observe(client: Any) -> None:
    """Register the handler on ``client`` (once; idempotent)."""
    client.meta.events.register_first("needs-retry.dynamodb", _handler,
                                      unique_id="dyntable-ambiguous-attempts")
