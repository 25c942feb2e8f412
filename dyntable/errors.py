"""The dyntable error tree.

Every error dyntable raises derives from :class:`DyntableError`, grouped by cause::

    DyntableError
    ├── DeclarationError            a Table / Model / Key declaration is wrong (class creation)
    ├── InvalidRequestError         known to be invalid before anything is sent
    │   ├── InvalidValueError       a value DynamoDB cannot store (NaN, 39 digits, empty set...)
    │   ├── KeyTemplateError        a value would break a key template, or a key part is missing
    │   ├── ItemTooLargeError       item over 400 KB as DynamoDB counts it
    │   ├── ExpressionError         unknown field, bad operand, expression over DynamoDB's limits
    │   ├── TransactionLimitError   over 100 actions / 4 MB, or two actions on one item
    │   └── CursorError             a pagination cursor was tampered with or belongs elsewhere
    ├── DecodeError                 a stored item does not fit its model
    ├── ServiceError                DynamoDB answered with an error (code, message, operation)
    │   ├── ConditionalCheckFailedError   carries the key and, when returned, the current item
    │   │   ├── VersionConflictError      optimistic locking lost a race
    │   │   │   └── ItemExistsError       a new versioned object met an existing item
    │   │   ├── ItemNotFoundError         an update or versioned write found no item
    │   │   ├── ForeignItemError          the key holds an item of another entity
    │   │   └── UniqueValueError          a Unique field's value is held by another item
    │   ├── TransactionCanceledError      per-action reasons
    │   │   └── TransactionVersionConflictError  (also a VersionConflictError)
    │   ├── IdempotentParameterMismatchError     a token reused with other parameters
    │   ├── TransactionConflictError
    │   ├── ThrottlingError               retryable
    │   ├── TableNotFoundError
    │   ├── ResourceInUseError
    │   ├── ServiceValidationError        DynamoDB's ValidationException
    │   ├── AccessDeniedError
    │   ├── ExpiredIteratorError          a stream shard iterator expired (retryable)
    │   ├── TrimmedDataError              stream records past retention
    │   └── InternalServerError           retryable
    ├── TransportError              the request did not get an answer (connection, timeout)
    │   └── ConfigurationError      no credentials / region / endpoint (not retryable)
    ├── OutcomeUnknownError         a write may or may not have been applied (carries the key)
    ├── WaitTimeoutError            a local wait (table ACTIVE, table deleted) ran out of time
    └── IncompleteBatchError        retries ran out: exactly which items were not processed
        ├── BatchWriteError
        ├── BatchGetError
        └── BatchStatementError   PartiQL BatchExecuteStatement: every result kept

Subsystems add their own branches, still rooted here: ``dyntable.streams``
(``StreamRecordError`` < DecodeError, ``LeaseLostError``), ``dyntable.migrations.errors``
(``MigrationError``, ``LockHeldError``, ``SchemaSyncError``, ``AppLoadError``) and
``dyntable.testing`` (``LocalServerError``), ``dyntable.idempotency``
(``IdempotencyError`` and its kinds).

Each class says whether retrying the same request may succeed (``retryable``).
Service errors are mapped from AWS error codes in one table, :data:`SERVICE_ERRORS`,
used by every transport.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "SERVICE_ERRORS",
    "AccessDeniedError",
    "BatchGetError",
    "BatchStatementError",
    "BatchWriteError",
    "CancellationReason",
    "ConditionalCheckFailedError",
    "ConfigurationError",
    "CursorError",
    "DeclarationError",
    "DecodeError",
    "DyntableError",
    "ExpiredIteratorError",
    "ExpressionError",
    "ForeignItemError",
    "IdempotentParameterMismatchError",
    "IncompleteBatchError",
    "InternalServerError",
    "InvalidRequestError",
    "InvalidValueError",
    "ItemExistsError",
    "ItemNotFoundError",
    "ItemTooLargeError",
    "KeyTemplateError",
    "OutcomeUnknownError",
    "ResourceInUseError",
    "ServiceError",
    "ServiceValidationError",
    "TableNotFoundError",
    "ThrottlingError",
    "TransactionCanceledError",
    "TransactionConflictError",
    "TransactionLimitError",
    "TransactionVersionConflictError",
    "TransportError",
    "TrimmedDataError",
    "UniqueValueError",
    "UnmatchedItemWarning",
    "VersionConflictError",
    "WaitTimeoutError",
    "service_error",
]


class DyntableError(Exception):
    """Root of every error raised by dyntable."""

    retryable: ClassVar[bool] = False


class DeclarationError(DyntableError, TypeError):
    """A table, model or key declaration is invalid (raised at class creation)."""


class InvalidRequestError(DyntableError, ValueError):
    """The request is invalid and was not sent."""


class InvalidValueError(InvalidRequestError):
    """A value cannot be stored in DynamoDB (the message names the field and why)."""


class KeyTemplateError(InvalidRequestError):
    """A key template cannot be filled or parsed with the given values."""


class ItemTooLargeError(InvalidRequestError):
    """The item is larger than DynamoDB's 400 KB limit."""

    def __init__(self, message: str, *, size: int, key: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.size = size
        self.key = dict(key) if key else None


class ExpressionError(InvalidRequestError):
    """A condition, filter, update or projection is invalid for the model or too large."""


class TransactionLimitError(InvalidRequestError):
    """A transaction breaks DynamoDB's limits (100 actions, 4 MB, one action per item)."""


class CursorError(InvalidRequestError):
    """A pagination cursor is malformed, tampered with, or belongs to another query."""


class DecodeError(DyntableError):
    """A stored item does not fit the model it is decoded into."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        key: Mapping[str, Any] | None = None,
    ):
        super().__init__(message)
        self.model = model
        self.key = dict(key) if key else None


class UnmatchedItemWarning(UserWarning):
    """A read met items that match no model of the table.

    They carry no entity attribute and no model's key templates fit their key (or several
    fit equally well), so they may belong to the model read. They are kept in the read's
    ``unmatched`` list (``Page.unmatched``, ``query.unmatched``), never silently dropped;
    turn the warning into an error with ``warnings.simplefilter("error",
    UnmatchedItemWarning)``.
    """


class ServiceError(DyntableError):
    """DynamoDB (or DAX) answered with an error.

    Attributes:
        code: the AWS error code, e.g. ``ConditionalCheckFailedException``.
        message: the service's message.
        operation: the DynamoDB operation, e.g. ``PutItem``.
        table: the table name, when known.
        key: the item key (wire format), when known.
        status: the HTTP status, when known.
        response: the raw error response, when available.
        maybe_applied: set by the transport: an attempt of this call (this one, or an
            earlier one that was retried) failed in a way that can leave a write applied
            (5xx after sending, timeout or dropped connection after sending).
    """

    maybe_applied: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        code: str = "",
        operation: str = "",
        table: str | None = None,
        key: Mapping[str, Any] | None = None,
        status: int | None = None,
        response: Mapping[str, Any] | None = None,
    ):
        self.code = code
        self.message = message
        self.operation = operation
        self.table = table
        self.key = dict(key) if key else None
        self.status = status
        self.response = dict(response) if response else {}
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f"{self.operation} on {self.table}" if self.table else self.operation
        parts = [f"{self.code or type(self).__name__}: {self.message}".rstrip(": ")]
        if where:
            parts.append(f"({where})")
        if self.key:
            parts.append(f"key={self.key}")
        return " ".join(parts)

    def with_context(
        self,
        *,
        table: str | None = None,
        key: Mapping[str, Any] | None = None,
    ) -> ServiceError:
        """Attach table and key to the error (used by the client)."""
        if table is not None and self.table is None:
            self.table = table
        if key is not None and self.key is None:
            self.key = dict(key)
        self.args = (self._describe(),)
        return self


class ConditionalCheckFailedError(ServiceError):
    """A condition on a write was false. ``item`` is the current item when returned.

    ``item_returned`` is False when the transport cannot pass DynamoDB's
    ``ReturnValuesOnConditionCheckFailure`` item through (DAX): then a missing ``item`` does
    not mean that there is no item.
    """

    item_returned: bool = True

    @property
    def item(self) -> dict[str, Any] | None:
        """The item as stored when the condition failed (wire format), if DynamoDB returned it."""
        item = self.response.get("Item")
        return dict(item) if item else None


class VersionConflictError(ConditionalCheckFailedError):
    """Optimistic locking: the stored version differs from the expected one.

    ``expected`` is the version the write expected; ``actual`` the stored one when known
    (``None``: no item, or DynamoDB did not return it).
    """

    def __init__(self, message: str = "", *, expected: int | None = None,
                 actual: int | None = None, **kw: Any):
        self.expected = expected
        self.actual = actual
        super().__init__(message, **kw)


class ItemExistsError(VersionConflictError):
    """A new object (version 0) was written where an item already exists."""


class UniqueValueError(ConditionalCheckFailedError):
    """A value of a ``Unique`` field is held by another item.

    Attributes:
        model / field / value: what was written.
        owner: the primary key (wire form) of the item holding the value, when known.
    """

    def __init__(self, message: str, *, model: str | None = None, field: str | None = None,
                 value: Any = None, owner: Any = None, **kwargs: Any) -> None:
        super().__init__(message, code="ConditionalCheckFailedException",
                         operation="TransactWriteItems", **kwargs)
        self.model = model
        self.field = field
        self.value = value
        self.owner = owner


class ItemNotFoundError(ConditionalCheckFailedError):
    """The write needs an existing item (an update, or a versioned write) and there is none."""


class ForeignItemError(ConditionalCheckFailedError):
    """The key addresses an item stored by another entity; dyntable refused to touch it.

    ``entity`` is the entity stored at that key.
    """

    def __init__(self, message: str = "", *, entity: str | None = None, **kw: Any):
        self.entity = entity
        super().__init__(message, **kw)


@dataclass(frozen=True)
class CancellationReason:
    """Why one action of a cancelled transaction failed.

    Attributes:
        index: position of the action in the transaction.
        code: ``None`` when this action was fine, otherwise e.g. ``ConditionalCheckFailed``.
        message: DynamoDB's message.
        action: ``Put`` / ``Update`` / ``Delete`` / ``ConditionCheck`` / ``Get``.
        model: the model class name of the action, when known.
        key: the item key (wire format).
        item: the current item (wire form), when ReturnValuesOnConditionCheckFailure
            returned it.
        current: that item decoded to its model, when it could be.
    """

    index: int
    code: str | None
    message: str | None = None
    action: str | None = None
    model: str | None = None
    key: Mapping[str, Any] | None = None
    item: Mapping[str, Any] | None = None
    current: Any = None


class TransactionCanceledError(ServiceError):
    """A transaction was cancelled; ``reasons`` has one entry per action."""

    reasons: list[CancellationReason]

    def __init__(self, message: str = "", **kw: Any):
        self.reasons = []
        super().__init__(message, **kw)

    @property
    def failed(self) -> list[CancellationReason]:
        """The reasons of the actions that failed (code not ``None``)."""
        return [r for r in self.reasons if r.code not in (None, "None")]

    @property
    def retryable_conflict(self) -> bool:
        """True when every failure is a conflict or throttling: retrying may succeed."""
        codes = {r.code for r in self.failed}
        return bool(codes) and codes <= {
            "TransactionConflict",
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
        }

    def _describe(self) -> str:
        base = super()._describe()
        failed = getattr(self, "reasons", None)
        if not failed:
            return base
        lines = [base]
        for r in self.failed:
            what = f"{r.action or 'action'} #{r.index}"
            if r.model:
                what += f" {r.model}"
            if r.key:
                what += f" key={dict(r.key)}"
            lines.append(f"  {what}: {r.code}: {r.message or ''}".rstrip(": "))
        return "\n".join(lines)

    def set_reasons(self, reasons: Sequence[CancellationReason]) -> None:
        """Replace the reasons and refresh the message."""
        self.reasons = list(reasons)
        self.args = (self._describe(),)


class TransactionVersionConflictError(VersionConflictError, TransactionCanceledError):
    """A transaction was cancelled because an item's version was not the expected one.

    ``reasons`` holds every action's reason; ``conflicts`` the version-checked ones that
    failed; ``item`` is the first conflicting item as stored (wire form), when returned.
    """

    conflicts: list[CancellationReason]

    @property
    def item(self) -> dict[str, Any] | None:
        """The first conflicting item as stored, when DynamoDB returned it."""
        for r in getattr(self, "conflicts", []):
            if r.item:
                return dict(r.item)
        return None


class IdempotentParameterMismatchError(ServiceError):
    """A transaction token was reused with different parameters (within 10 minutes)."""


class TransactionConflictError(ServiceError):
    """Another transaction was working on the same item."""

    retryable = True


class ThrottlingError(ServiceError):
    """Throughput or request rate exceeded; retrying later may succeed."""

    retryable = True


class TableNotFoundError(ServiceError):
    """The table (or index) does not exist or is not active."""

    def _describe(self) -> str:
        base = super()._describe()
        if self.operation in _STREAM_OPERATIONS:
            return base  # a stream or shard, not a table
        table = f"table {self.table!r}" if self.table else "the table"
        return (
            f"{base}. If {table} does not exist yet, create it from its declaration: "
            "db.create_table() in code, or `dyntable table create --app module:table` "
            "from the shell (add --endpoint-url for DynamoDB Local)"
        )


#: DynamoDB Streams operations: their ResourceNotFoundException is about a stream.
_STREAM_OPERATIONS = frozenset({"DescribeStream", "GetShardIterator", "GetRecords",
                                "ListStreams"})


class ResourceInUseError(ServiceError):
    """The table is being created, updated or deleted, or already exists."""


class ServiceValidationError(ServiceError):
    """DynamoDB rejected the request as invalid (ValidationException)."""


class AccessDeniedError(ServiceError):
    """The credentials are not allowed to do this."""


class InternalServerError(ServiceError):
    """DynamoDB failed internally; the request may or may not have been applied."""

    retryable = True


class ExpiredIteratorError(ServiceError):
    """A stream shard iterator expired (they live 15 minutes); get a new one."""

    retryable = True


class TrimmedDataError(ServiceError):
    """The requested stream records are past the stream's 24-hour retention."""


class TransportError(DyntableError):
    """The request got no answer: connection refused or reset, timeout, bad endpoint.

    ``maybe_applied`` (set by the transport) is True when the request may have reached
    DynamoDB before the failure (a timeout or dropped connection after sending), False when
    it cannot have (e.g. the connection was refused).
    """

    retryable = True
    maybe_applied: bool = False


class ConfigurationError(TransportError, ValueError):
    """No credentials or region could be found, or the endpoint is malformed; retrying will
    not help."""

    retryable = False


class OutcomeUnknownError(DyntableError):
    """A write may or may not have been applied, and dyntable could not find out which.

    Raised after a failure that can leave a write applied (a 5xx sent after the request,
    a timeout or dropped connection after sending) when nothing unique to that write could
    settle it: the write was not resent (it is not idempotent), or its resend failed and the
    stored item no longer tells. Never raised after throttling or other 4xx errors, which
    DynamoDB never applies. Read the item to see its state before writing again.

    Attributes:
        operation: the DynamoDB operation.
        table: the table name.
        key: the item key (wire form), when the write names one item.
        model: the model class name, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        table: str | None = None,
        key: Mapping[str, Any] | None = None,
        model: str | None = None,
    ):
        super().__init__(message)
        self.operation = operation
        self.table = table
        self.key = dict(key) if key else None
        self.model = model


class WaitTimeoutError(DyntableError, TimeoutError):
    """A local wait ran out of time (e.g. a table did not become ACTIVE, or was not yet
    deleted); the operation it waited for may still finish later."""


class IncompleteBatchError(DyntableError):
    """A batch did not finish before its retries or deadline ran out.

    ``unprocessed`` lists exactly what was not done; everything else was.
    """

    def __init__(self, message: str, *, unprocessed: Sequence[Any], table: str | None = None):
        super().__init__(message)
        self.unprocessed = list(unprocessed)
        self.table = table


class BatchStatementError(IncompleteBatchError):
    """Statements of a BatchExecuteStatement that failed after retries.

    ``results`` holds every statement's outcome, in order (``item`` or ``error``);
    ``unprocessed`` the failed ones.
    """

    def __init__(self, message: str, *, results: Sequence[Any], table: str | None = None):
        super().__init__(message, unprocessed=[r for r in results if r.error is not None],
                         table=table)
        self.results = list(results)


class BatchWriteError(IncompleteBatchError):
    """Items not written by a batch write: ``unprocessed`` holds the original put/delete actions."""


class BatchGetError(IncompleteBatchError):
    """Keys not read by a batch get: ``unprocessed`` holds their keys."""


SERVICE_ERRORS: dict[str, type[ServiceError]] = {
    "ConditionalCheckFailedException": ConditionalCheckFailedError,
    "TransactionCanceledException": TransactionCanceledError,
    "TransactionConflictException": TransactionConflictError,
    "IdempotentParameterMismatchException": IdempotentParameterMismatchError,
    "ProvisionedThroughputExceededException": ThrottlingError,
    "RequestThrottled": ThrottlingError,
    "TransactionInProgressException": TransactionConflictError,
    "ReplicatedWriteConflictException": TransactionConflictError,
    "ThrottlingException": ThrottlingError,
    "RequestLimitExceeded": ThrottlingError,
    "LimitExceededException": ThrottlingError,
    "ResourceNotFoundException": TableNotFoundError,
    "ResourceInUseException": ResourceInUseError,
    "ValidationException": ServiceValidationError,
    "SerializationException": ServiceValidationError,
    "ItemCollectionSizeLimitExceededException": ServiceValidationError,
    "AccessDeniedException": AccessDeniedError,
    "UnrecognizedClientException": AccessDeniedError,
    "InvalidSignatureException": AccessDeniedError,
    "MissingAuthenticationTokenException": AccessDeniedError,
    "ExpiredTokenException": AccessDeniedError,
    "ExpiredIteratorException": ExpiredIteratorError,
    "TrimmedDataAccessException": TrimmedDataError,
    "InternalServerError": InternalServerError,
    "InternalFailure": InternalServerError,
    "ServiceUnavailable": InternalServerError,
    "ServiceUnavailableException": InternalServerError,
}


def service_error(
    code: str,
    message: str,
    *,
    operation: str,
    status: int | None = None,
    response: Mapping[str, Any] | None = None,
) -> ServiceError:
    """Build the dyntable error for an AWS error code (the one mapping table every transport uses).

    Transaction cancellation reasons found in ``response["CancellationReasons"]`` are decoded
    into :class:`CancellationReason` entries (action details are filled in by the client).
    """
    cls = SERVICE_ERRORS.get(code)
    if cls is None:
        cls = InternalServerError if status is not None and status >= 500 else ServiceError
    err = cls(message, code=code, operation=operation, status=status, response=response)
    if isinstance(err, TransactionCanceledError) and response:
        raw = response.get("CancellationReasons") or []
        err.set_reasons(
            [
                CancellationReason(
                    index=i,
                    code=None if r.get("Code") in (None, "None") else r.get("Code"),
                    message=r.get("Message"),
                    item=r.get("Item"),
                )
                for i, r in enumerate(raw)
            ]
        )
    return err
