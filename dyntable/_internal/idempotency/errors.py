"""Errors of idempotent calls (re-exported by :mod:`dyntable.idempotency`)::

    DyntableError
    └── IdempotencyError
        ├── IdempotencyInputError           (also InvalidRequestError) nothing was sent
        │   └── IdempotencyKeyError         the input holds no idempotency key
        ├── IdempotencyInProgressError      another call with this key is running (retryable)
        ├── IdempotencyPayloadMismatchError the key was used with another payload
        └── IdempotencyResultError          the body returned, its result was not stored
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dyntable.errors import DyntableError, InvalidRequestError

__all__ = [
    "IdempotencyError",
    "IdempotencyInProgressError",
    "IdempotencyInputError",
    "IdempotencyKeyError",
    "IdempotencyPayloadMismatchError",
    "IdempotencyResultError",
]


class IdempotencyError(DyntableError):
    """Root of the errors raised by idempotent calls.

    Attributes:
        scope: the function's scope (by default its module and qualified name).
        key_hash: the hash of the idempotency key, as stored in the record's key.
    """

    def __init__(self, message: str, *, scope: str | None = None,
                 key_hash: str | None = None) -> None:
        super().__init__(message)
        self.scope = scope
        self.key_hash = key_hash


class IdempotencyInputError(IdempotencyError, InvalidRequestError):
    """The idempotency key or payload cannot be read from the input, or cannot be hashed
    (a value that is not JSON-like). Raised before anything is sent; the body did not run."""


class IdempotencyKeyError(IdempotencyInputError):
    """The input holds no idempotency key (a missing field, or ``None``).

    Pass ``key_required=False`` to run such calls without idempotency instead.
    """


class IdempotencyInProgressError(IdempotencyError):
    """Another call with the same key is running (its record is in progress and has not
    expired). Retrying later is safe: it gets the stored result once that call completes.

    Attributes:
        until: when the running call's claim expires (then another call may take over).
    """

    retryable = True

    def __init__(self, message: str, *, until: datetime | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.until = until


class IdempotencyPayloadMismatchError(IdempotencyError):
    """The key was already used with a different payload (its stored hash differs): the
    stored result belongs to another request, so it is not returned and the body does not
    run.

    Attributes:
        stored_hash / payload_hash: the payload hash stored with the record, and this call's.
    """

    def __init__(self, message: str, *, stored_hash: str, payload_hash: str,
                 **kw: Any) -> None:
        super().__init__(message, **kw)
        self.stored_hash = stored_hash
        self.payload_hash = payload_hash


class IdempotencyResultError(IdempotencyError):
    """The body ran and returned, but its result could not be stored: it does not survive
    the serializer, it is too large for an item, or the completing write failed
    (``__cause__`` says which). The record stays in progress until its in-progress expiry.

    Attributes:
        result: what the body returned.
    """

    def __init__(self, message: str, *, result: Any, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.result = result
