"""Idempotent functions and Lambda handlers, backed by a dyntable table.

::

    idem = Idempotency(db)                      # db: a Client or AsyncClient (or a Table)

    @idem.handler(key="orderId")
    def handler(event, context):
        return charge(event)                    # runs once per orderId; retries get its result

    @idem.function(key=lambda order: order.id)
    async def place(order: Order) -> Receipt:   # async functions need an AsyncClient
        ...

A call claims a record for its key with one conditional ``PutItem`` (no record, or an
expired one), runs the function, and stores the result with one conditional
``UpdateItem``. A call whose key is completed gets the stored result without running the
function; one whose key is in progress gets :class:`IdempotencyInProgressError` (or waits,
with ``on_in_progress="wait"``); one whose payload differs from the stored one gets
:class:`IdempotencyPayloadMismatchError`. A function that raises deletes its claim so a
retry runs it again. Records expire ``expires_after`` seconds after completion (the table's
TTL attribute; DynamoDB deletes them later); a claim expires after the Lambda context's
remaining time, or ``in_progress_timeout`` seconds, so a crashed call never blocks a key
for long. See docs/idempotency.md.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import sys
import threading
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, overload

from dyntable._internal.idempotency.errors import (
    IdempotencyError,
    IdempotencyInProgressError,
    IdempotencyInputError,
    IdempotencyKeyError,
    IdempotencyPayloadMismatchError,
    IdempotencyResultError,
)
from dyntable._internal.idempotency.flow import (
    Plan,
    drive,
    drive_async,
    idempotent_flow,
)
from dyntable._internal.idempotency.inputs import WHOLE, Extractor, Missing, digest, extractor
from dyntable._internal.idempotency.record import IdempotencyRecord, Status, record_model
from dyntable._internal.idempotency.results import (
    JsonSerializer,
    LocalCache,
    Serializer,
    TypedSerializer,
    serializer_for,
)
from dyntable.errors import DeclarationError
from dyntable.schema.table import TableSchema

if TYPE_CHECKING:
    from dyntable.async_client import AsyncClient
    from dyntable.client import Client
    from dyntable.schema.keys import ItemKey
    from dyntable.table import Table

__all__ = [
    "WHOLE",
    "Idempotency",
    "IdempotencyError",
    "IdempotencyInProgressError",
    "IdempotencyInputError",
    "IdempotencyKeyError",
    "IdempotencyPayloadMismatchError",
    "IdempotencyRecord",
    "IdempotencyResultError",
    "JsonSerializer",
    "Serializer",
    "Status",
    "TypedSerializer",
    "idempotency_table",
]

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("dyntable.idempotency")

#: The Lambda context of the running handler (set by ``@idem.handler`` or
#: :meth:`Idempotency.register_lambda_context`): claims hold for its remaining time.
_LAMBDA_CONTEXT: ContextVar[Any] = ContextVar("dyntable_idempotency_lambda_context",
                                              default=None)

OnInProgress = Literal["raise", "wait"]


def idempotency_table(name: str = "idempotency", *, ttl: str = "expiration",
                      **options: Any) -> Table:
    """A table declaration dedicated to idempotency records: partition key ``PK`` only,
    TTL on ``ttl``. Create it with ``table.connect().create_table()`` (which enables TTL),
    or declare the same in your infrastructure code. ``options`` go to
    :class:`~dyntable.Table` (``billing_mode``, ``tags``...)."""
    from dyntable.table import Table

    options.setdefault("sk", None)
    return Table(name, ttl=ttl, **options)


@dataclass(frozen=True)
class _Spec:
    """One decorated function's settings."""

    scope: str
    key: Extractor
    payload: Extractor | None
    key_text: str
    key_required: bool
    serializer: Serializer
    expires_after: int
    in_progress_timeout: float
    on_in_progress: OnInProgress
    response_hook: Callable[[Any, IdempotencyRecord], Any] | None


class Idempotency:
    """Makes functions and Lambda handlers idempotent on a key read from their input.

    Args:
        db: where the records live: a :class:`~dyntable.client.Client` (for sync
            functions), an :class:`~dyntable.async_client.AsyncClient` (for ``async def``
            functions), or a :class:`~dyntable.Table`, connected on first use (either
            kind). The table may be the application's own (records sit under their own
            key prefix and entity) or one from :func:`idempotency_table`; it must declare a
            TTL attribute.
        expires_after: seconds a completed record is kept (its result replayed).
        in_progress_timeout: seconds a claim holds when no Lambda context is known (then a
            crashed call's key can be taken over).
        on_in_progress: ``"raise"`` (default): a call whose key is in progress raises
            :class:`IdempotencyInProgressError`; ``"wait"``: it waits (up to
            ``wait_timeout`` seconds) for the result.
        wait_timeout: how long ``"wait"`` waits.
        use_local_cache: keep completed records in memory too (up to
            ``local_cache_max_items``): a retry in the same process sends nothing.
        hash_function: a :mod:`hashlib` name for key and payload hashes.
        entity / prefix: the records' entity name and key prefix on the table.
        clock: returns the current aware datetime (default :func:`dyntable.clock.now`,
            which ``use_clock`` fixes in tests).

    Raises:
        DeclarationError: an option is invalid, or the table cannot hold the records.
    """

    def __init__(
        self,
        db: Client | AsyncClient | Table,
        *,
        expires_after: float = 3600,
        in_progress_timeout: float = 300,
        on_in_progress: OnInProgress = "raise",
        wait_timeout: float = 60.0,
        use_local_cache: bool = False,
        local_cache_max_items: int = 256,
        hash_function: str = "sha256",
        entity: str = "idempotency",
        prefix: str = "IDEMPOTENCY",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._kind, table = _kind_of(db)
        self._db: Any = db
        self._clients: dict[str, Any] = {} if self._kind == "table" else {self._kind: db}
        self._lock = threading.Lock()
        self.model: type[IdempotencyRecord] = record_model(table, entity=entity,
                                                           prefix=prefix)
        self.expires_after = _seconds("expires_after", expires_after)
        self.in_progress_timeout = _positive("in_progress_timeout", in_progress_timeout)
        self.on_in_progress = _on_in_progress(on_in_progress)
        if wait_timeout < 0:
            raise DeclarationError(f"wait_timeout must be >= 0, not {wait_timeout}")
        self.wait_timeout = float(wait_timeout)
        try:
            hashlib.new(hash_function)
        except (ValueError, TypeError) as exc:
            raise DeclarationError(f"hash_function {hash_function!r}: {exc}") from None
        self.hash_function = hash_function
        self.cache = LocalCache(local_cache_max_items) if use_local_cache else None
        from dyntable.clock import now

        self.clock: Callable[[], datetime] = clock or now

    # -- decorators ------------------------------------------------------------------------

    @overload
    def function(self, fn: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def function(self, fn: None = None, /, **options: Any
                 ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def function(self, fn: Callable[P, R] | None = None, /, **options: Any) -> Any:
        """Make ``fn`` (sync, or ``async def`` with an AsyncClient) idempotent.

        ``@idem.function(key="order.id")`` or ``@idem.function(key=lambda order: order.id)``.

        Options (all keyword):
            key: what identifies a request: a callable taking the function's arguments, a
                dotted path whose first name is a parameter (``"order.id"``), a tuple of
                paths, or :data:`WHOLE` (default: every argument).
            payload: what must match on a retry (a stored result is returned only for the
                same payload): the same forms as ``key``, ``WHOLE`` (default) or ``None``
                (no check).
            scope: the records' namespace (default: module and qualified name).
            key_required: ``False`` runs calls without a key unprotected instead of
                raising :class:`IdempotencyKeyError`.
            result_type / serializer: how results are stored (default: by the return
                annotation through pydantic, else plain JSON).
            response_hook: ``hook(result, record)`` turns a replayed result into what is
                returned.
            expires_after / in_progress_timeout / on_in_progress: override the store's.
        """
        if fn is None:
            return lambda f: self._decorate(f, options, handler=False)
        return self._decorate(fn, options, handler=False)

    @overload
    def handler(self, fn: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def handler(self, fn: None = None, /, **options: Any
                ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def handler(self, fn: Callable[P, R] | None = None, /, **options: Any) -> Any:
        """Make a Lambda handler ``(event, context)`` idempotent.

        Options are :meth:`function`'s, read from the event: ``key="orderId"``,
        ``key="detail.orderId"``, ``key=lambda event: ...`` (default: the whole event).
        Claims hold for the context's remaining time; functions decorated with
        :meth:`function` that the handler calls use it too.
        """
        if fn is None:
            return lambda f: self._decorate(f, options, handler=True)
        return self._decorate(fn, options, handler=True)

    def register_lambda_context(self, context: Any) -> None:
        """Claims made from here on (in this thread or task) hold for ``context``'s
        remaining time (``get_remaining_time_in_millis()``)."""
        _LAMBDA_CONTEXT.set(context)

    # -- direct calls ----------------------------------------------------------------------

    def run(self, scope: str, key: Any, fn: Callable[[], R], *, payload: Any = None,
            result_type: Any = None, serializer: Serializer | None = None) -> R:
        """Run ``fn()`` once for ``key`` in ``scope`` (sync client): the decorator's
        behaviour for code that has the key at hand. ``payload`` is checked when given."""
        spec = self._direct_spec(scope, fn, result_type, serializer, payload)
        plan = self._plan(spec, (key, payload), {})
        assert plan is not None
        result: R = drive(idempotent_flow(plan), self._sync_client(), fn)
        return result

    async def run_async(self, scope: str, key: Any, fn: Callable[[], Awaitable[R]], *,
                        payload: Any = None, result_type: Any = None,
                        serializer: Serializer | None = None) -> R:
        """:meth:`run` for the asyncio client: ``fn()`` returns an awaitable."""
        spec = self._direct_spec(scope, fn, result_type, serializer, payload)
        plan = self._plan(spec, (key, payload), {})
        assert plan is not None
        result: R = await drive_async(idempotent_flow(plan), await self._async_client(), fn)
        return result

    def key_of(self, fn_or_scope: Callable[..., Any] | str, key: Any) -> ItemKey[Any]:
        """The record's key for ``key`` (the key value, not the input) of a decorated
        function or scope: ``db.get(idem.key_of(place, "o-1"))`` reads the record,
        ``db.delete(...)`` forgets it."""
        scope = fn_or_scope if isinstance(fn_or_scope, str) else getattr(
            fn_or_scope, "__idempotency_scope__", None) or _default_scope(fn_or_scope)
        return self.model.primary(scope=scope, digest=self._hash(scope, key, "key"))

    # -- internals -------------------------------------------------------------------------

    def _decorate(self, fn: Callable[..., Any], options: dict[str, Any], *,
                  handler: bool) -> Any:
        if not callable(fn):
            raise DeclarationError(f"idempotency decorators take a function, not {fn!r}")
        is_async = inspect.iscoroutinefunction(fn)
        self._check_kind(fn, is_async)
        spec = self._spec(fn, dict(options), handler=handler)
        if is_async:
            return self._async_wrapper(fn, spec, handler)
        return self._sync_wrapper(fn, spec, handler)

    def _sync_wrapper(self, fn: Callable[..., Any], spec: _Spec, handler: bool) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _LAMBDA_CONTEXT.set(_context_arg(args, kwargs)) if handler else None
            try:
                plan = self._plan(spec, args, kwargs)
                if plan is None:
                    return fn(*args, **kwargs)
                return drive(idempotent_flow(plan), self._sync_client(),
                             lambda: fn(*args, **kwargs))
            finally:
                if token is not None:
                    _LAMBDA_CONTEXT.reset(token)
        wrapper.__idempotency_scope__ = spec.scope  # type: ignore[attr-defined]
        return wrapper

    def _async_wrapper(self, fn: Callable[..., Any], spec: _Spec, handler: bool) -> Any:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = _LAMBDA_CONTEXT.set(_context_arg(args, kwargs)) if handler else None
            try:
                plan = self._plan(spec, args, kwargs)
                if plan is None:
                    return await fn(*args, **kwargs)
                return await drive_async(idempotent_flow(plan), await self._async_client(),
                                         lambda: fn(*args, **kwargs))
            finally:
                if token is not None:
                    _LAMBDA_CONTEXT.reset(token)
        wrapper.__idempotency_scope__ = spec.scope  # type: ignore[attr-defined]
        return wrapper

    def _check_kind(self, fn: Callable[..., Any], is_async: bool) -> None:
        name = getattr(fn, "__qualname__", repr(fn))
        if is_async and self._kind == "sync":
            raise DeclarationError(
                f"{name} is an async function: give Idempotency an AsyncClient "
                "(await table.connect_async()) or the Table")
        if not is_async and self._kind == "async":
            raise DeclarationError(
                f"{name} is a sync function: give Idempotency a Client (table.connect()) "
                "or the Table")

    def _spec(self, fn: Callable[..., Any], options: dict[str, Any], *,
              handler: bool) -> _Spec:
        key = options.pop("key", WHOLE)
        payload = options.pop("payload", WHOLE)
        scope = options.pop("scope", None) or _default_scope(fn)
        result_type = options.pop("result_type", None)
        serializer = options.pop("serializer", None)
        spec = _Spec(
            scope=_check_scope(scope),
            key=extractor(key, fn, handler=handler, key=True),
            payload=None if payload is None or key is WHOLE else extractor(
                payload, fn, handler=handler, key=False),
            key_text=_describe(key),
            key_required=bool(options.pop("key_required", True)),
            serializer=serializer_for(fn, result_type, serializer),
            expires_after=_seconds("expires_after",
                                   options.pop("expires_after", self.expires_after)),
            in_progress_timeout=_positive(
                "in_progress_timeout",
                options.pop("in_progress_timeout", self.in_progress_timeout)),
            on_in_progress=_on_in_progress(options.pop("on_in_progress",
                                                       self.on_in_progress)),
            response_hook=options.pop("response_hook", None),
        )
        if options:
            raise DeclarationError(
                f"{fn.__qualname__}: unknown idempotency options {sorted(options)}")
        return spec

    def _direct_spec(self, scope: str, fn: Callable[..., Any], result_type: Any,
                     serializer: Serializer | None, payload: Any) -> _Spec:
        return _Spec(
            scope=_check_scope(scope),
            key=lambda args, kwargs: _present(args[0]),
            payload=None if payload is None else (lambda args, kwargs: args[1]),
            key_text="key", key_required=True,
            serializer=serializer_for(fn, result_type, serializer),
            expires_after=self.expires_after, in_progress_timeout=self.in_progress_timeout,
            on_in_progress=self.on_in_progress, response_hook=None)

    def _plan(self, spec: _Spec, args: tuple[Any, ...], kwargs: dict[str, Any]
              ) -> Plan | None:
        try:
            key = spec.key(args, kwargs)
        except Missing as exc:
            if spec.key_required:
                raise IdempotencyKeyError(
                    f"{spec.scope}: no idempotency key in the input: {exc.what} (key "
                    f"{spec.key_text}); pass key_required=False to run such calls "
                    "without idempotency", scope=spec.scope) from exc
            log.warning("%s: no idempotency key in the input (%s): running without "
                        "idempotency", spec.scope, exc.what)
            return None
        payload_hash = None
        if spec.payload is not None:
            try:
                payload = spec.payload(args, kwargs)
            except Missing as exc:
                raise IdempotencyInputError(
                    f"{spec.scope}: the payload to validate is not in the input: "
                    f"{exc.what}", scope=spec.scope) from exc
            payload_hash = self._hash(spec.scope, payload, "payload")
        return Plan(
            model=self.model, scope=spec.scope, digest=self._hash(spec.scope, key, "key"),
            payload_hash=payload_hash, serializer=spec.serializer,
            expires_after=spec.expires_after,
            in_progress_ms=_in_progress_ms(spec.in_progress_timeout), clock=self.clock,
            on_in_progress=spec.on_in_progress, wait_timeout=self.wait_timeout,
            cache=self.cache, response_hook=spec.response_hook)

    def _hash(self, scope: str, value: Any, what: str) -> str:
        try:
            return digest(value, self.hash_function)
        except (TypeError, ValueError) as exc:
            raise IdempotencyInputError(
                f"{scope}: the idempotency {what} cannot be hashed ({exc}); give {what}= a "
                "path or function that picks JSON-like values (str, numbers, dicts, lists, "
                "pydantic models, dataclasses...)", scope=scope) from exc

    def _sync_client(self) -> Any:
        client = self._clients.get("sync")
        if client is None:
            with self._lock:
                client = self._clients.get("sync")
                if client is None:
                    client = self._clients["sync"] = self._db.connect()
        return client

    async def _async_client(self) -> Any:
        client = self._clients.get("async")
        if client is None:
            client = await self._db.connect_async()
            client = self._clients.setdefault("async", client)
        return client

    def __repr__(self) -> str:
        return (f"Idempotency({self.model.__dyntable__.table.name!r}, "
                f"entity={self.model.__dyntable__.entity!r})")


def _kind_of(db: Any) -> tuple[str, TableSchema]:
    """``("sync" | "async" | "table", table declaration)`` of what Idempotency was given."""
    if isinstance(db, TableSchema):
        if not hasattr(db, "connect"):
            raise DeclarationError("Idempotency takes a dyntable.Table, not a bare TableSchema")
        return "table", db
    aio = sys.modules.get("dyntable.async_client")  # loaded if db can be an AsyncClient
    if aio is not None and isinstance(db, aio.AsyncClient):
        return "async", db.table
    sync = sys.modules.get("dyntable.client")
    if sync is not None and isinstance(db, sync.Client):
        return "sync", db.table
    raise DeclarationError(
        f"Idempotency takes a Client, an AsyncClient or a Table, not {type(db).__name__}")


def _default_scope(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', None) or 'fn'}.{getattr(fn, '__qualname__', 'fn')}"


def _check_scope(scope: Any) -> str:
    if not isinstance(scope, str) or not scope or "#" in scope:
        raise DeclarationError(
            f"an idempotency scope is a non-empty string without '#', not {scope!r}")
    return scope


def _describe(spec: Any) -> str:
    if spec is WHOLE:
        return "WHOLE"
    if isinstance(spec, str):
        return repr(spec)
    if callable(spec):
        return f"function {getattr(spec, '__qualname__', spec)!r}"
    return repr(tuple(spec))


def _present(value: Any) -> Any:
    if value is None:
        raise Missing("the key is None")
    return value


def _seconds(name: str, value: Any) -> int:
    seconds = _positive(name, value)
    return max(1, int(seconds))


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise DeclarationError(f"{name} is a positive number of seconds, not {value!r}")
    return float(value)


def _on_in_progress(value: Any) -> OnInProgress:
    if value not in ("raise", "wait"):
        raise DeclarationError(f"on_in_progress is 'raise' or 'wait', not {value!r}")
    result: OnInProgress = value
    return result


def _context_arg(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[1] if len(args) > 1 else kwargs.get("context")


def _in_progress_ms(timeout: float) -> int:
    """How long a claim holds: the Lambda context's remaining time when one is known."""
    context = _LAMBDA_CONTEXT.get()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        try:
            return max(1, int(remaining()))
        except (TypeError, ValueError):
            pass
    return max(1, int(timeout * 1000))
