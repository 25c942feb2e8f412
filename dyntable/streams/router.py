"""``Router``: stream handlers registered per entity and event kind.

::

    router = Router(shop)

    @router.on_insert(Customer)
    def welcome(event: StreamEvent[Customer]) -> None:
        send_welcome(event.new.email)

    @router.on_modify(Order)
    def status_changed(event: StreamEvent[Order]) -> None:
        if event.changed("status"):
            notify(event.old.status, event.new.status)

Dispatch rules: ``on_remove`` handlers get every removal, TTL expirations included
(``event.expired`` tells them apart); ``on_expire`` handlers get only expirations;
``on_any`` handlers get every event of their model (of every model when given none).
Records whose entity is unknown go to ``on_unknown`` handlers, and are skipped (logged
without item values) when there are none. Handlers run in registration order.

Handlers may be coroutine functions (``async def``) where they are awaited: with
:meth:`Router.dispatch_async` / :meth:`Router.handle_async`, the
:class:`~dyntable.streams.async_consumer.AsyncStreamConsumer` and
:meth:`Router.async_lambda_handler`. The sync paths (:meth:`Router.dispatch`, the
:class:`~dyntable.streams.consumer.StreamConsumer`, :meth:`Router.lambda_handler`) refuse
them with :class:`~dyntable.errors.InvalidRequestError` rather than drop their work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from dyntable.errors import DeclarationError, InvalidRequestError
from dyntable.streams.events import StreamEvent, decode_record
from dyntable.streams.records import StreamRecord, parse_record

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["Decorator", "Handler", "Router"]

M = TypeVar("M", bound="Model")
H = TypeVar("H", bound=Callable[..., object])
#: A stream handler: takes the typed event; its return value is ignored, unless it is an
#: awaitable (a coroutine function's), which the async paths await.
Handler = Callable[[StreamEvent[M]], object]
#: What ``on_insert(Model)`` and friends return: a decorator returning the handler as is.
Decorator = Callable[[Handler[M]], Handler[M]]
_AnyHandler = Callable[[StreamEvent[Any]], object]

log = logging.getLogger("dyntable.streams")
_ANY = "*"


class Router:
    """Routes typed stream events of one table's models to handlers.

    Args:
        table: the table declaration whose entities the stream carries.
    """

    def __init__(self, table: TableSchema) -> None:
        self.table = table
        self._handlers: dict[tuple[str, str], list[_AnyHandler]] = {}
        self._unknown: list[_AnyHandler] = []

    # -- registration ------------------------------------------------------------------

    def _entity(self, model: type[Model]) -> str:
        spec = getattr(model, "__dyntable__", None)
        if spec is None or spec.table is not self.table:
            raise DeclarationError(
                f"{getattr(model, '__name__', model)!r} is not a model of table "
                f"{self.table.name!r}; this router routes that table's stream"
            )
        return str(spec.entity)

    def _register(self, kind: str, model: type[Model] | None) -> Decorator[Any]:
        entity = _ANY if model is None else self._entity(model)

        def decorator(handler: Handler[Any]) -> Handler[Any]:
            self._handlers.setdefault((entity, kind), []).append(handler)
            return handler

        return decorator

    def on_insert(self, model: type[M]) -> Decorator[M]:
        """Register a handler for new items of ``model`` (``event.new``)."""
        return self._register("insert", model)

    def on_modify(self, model: type[M]) -> Decorator[M]:
        """Register a handler for changed items (``event.old``, ``event.new``)."""
        return self._register("modify", model)

    def on_remove(self, model: type[M]) -> Decorator[M]:
        """Register a handler for deleted items, TTL expirations included (``event.old``)."""
        return self._register("remove", model)

    def on_expire(self, model: type[M]) -> Decorator[M]:
        """Register a handler for items deleted by DynamoDB's TTL process only."""
        return self._register("expire", model)

    @overload
    def on_any(self) -> Decorator[Model]: ...

    @overload
    def on_any(self, model: type[M]) -> Decorator[M]: ...

    def on_any(self, model: type[Model] | None = None) -> Decorator[Any]:
        """Register a handler for every event of ``model`` (every model when ``None``)."""
        return self._register("any", model)

    def on_unknown(self, handler: H) -> H:
        """Register a handler for records whose entity is missing, unregistered or ambiguous."""
        self._unknown.append(handler)
        return handler

    # -- dispatch ----------------------------------------------------------------------

    def handlers_for(self, event: StreamEvent[Any]) -> list[_AnyHandler]:
        """The handlers ``event`` goes to, in registration order of each group."""
        if event.model is None:
            return list(self._unknown)
        entity = event.entity or ""
        kinds = [event.kind, "expire"] if event.expired else [event.kind]
        found: list[_AnyHandler] = []
        for kind in kinds:
            found += self._handlers.get((entity, kind), [])
        found += self._handlers.get((entity, "any"), [])
        found += self._handlers.get((_ANY, "any"), [])
        return found

    def decode(self, raw: Mapping[str, Any] | StreamRecord) -> StreamEvent[Any]:
        """Parse (when raw) and decode one record into a typed event."""
        record = raw if isinstance(raw, StreamRecord) else parse_record(raw)
        return decode_record(self.table, record)

    def _handlers_of(self, event: StreamEvent[Any]) -> list[_AnyHandler]:
        handlers = self.handlers_for(event)
        if not handlers:
            log.debug("stream record %s (%s, entity %s): no handler", event.sequence_number,
                      event.record.event_name, event.entity or "?")
        return handlers

    def dispatch(self, event: StreamEvent[Any]) -> int:
        """Run the handlers of ``event``; return how many ran. Handler errors propagate.

        Raises:
            InvalidRequestError: a handler returned an awaitable (it is async): use
                :meth:`dispatch_async`.
        """
        handlers = self._handlers_of(event)
        for handler in handlers:
            result = handler(event)
            if isinstance(result, Awaitable):
                if isinstance(result, Coroutine):
                    result.close()  # never started: nothing ran, no "never awaited" warning
                raise InvalidRequestError(
                    f"stream handler {_name(handler)} is async (it returned an awaitable); "
                    "the sync path cannot await it: use AsyncStreamConsumer, or "
                    "router.async_lambda_handler in Lambda")
        return len(handlers)

    async def dispatch_async(self, event: StreamEvent[Any]) -> int:
        """Run the handlers of ``event`` in order, awaiting those that return an awaitable;
        return how many ran. Handler errors propagate."""
        handlers = self._handlers_of(event)
        for handler in handlers:
            result = handler(event)
            if isinstance(result, Awaitable):
                await result
        return len(handlers)

    def handle(self, raw: Mapping[str, Any] | StreamRecord) -> StreamEvent[Any]:
        """Decode and dispatch one record; return its event."""
        event = self.decode(raw)
        self.dispatch(event)
        return event

    async def handle_async(self, raw: Mapping[str, Any] | StreamRecord) -> StreamEvent[Any]:
        """Decode one record and dispatch it with :meth:`dispatch_async`; return its event."""
        event = self.decode(raw)
        await self.dispatch_async(event)
        return event

    def async_handlers(self) -> list[Callable[..., object]]:
        """The registered handlers that are coroutine functions, in registration order."""
        from inspect import iscoroutinefunction

        every = [h for group in self._handlers.values() for h in group] + self._unknown
        found: list[Callable[..., object]] = []
        for handler in every:
            call = type(handler).__call__  # an object with an async __call__
            if (iscoroutinefunction(handler) or iscoroutinefunction(call)) and \
                    not any(handler is f for f in found):
                found.append(handler)
        return found

    def refuse_async_handlers(self, where: str) -> None:
        """Raise when coroutine handlers are registered: ``where`` cannot await them.

        Raises:
            InvalidRequestError: naming the async handlers and what runs them.
        """
        found = self.async_handlers()
        if found:
            names = ", ".join(_name(h) for h in found)
            raise InvalidRequestError(
                f"{where} runs handlers synchronously, and {names} "
                f"{'is' if len(found) == 1 else 'are'} async: use AsyncStreamConsumer, or "
                "router.async_lambda_handler in Lambda (see docs/streams.md)")

    def handle_all(self, records: Iterable[Mapping[str, Any] | StreamRecord]) -> int:
        """Handle records in order, stopping at the first error; return how many were handled."""
        count = 0
        for raw in records:
            self.handle(raw)
            count += 1
        return count

    def lambda_handler(self, event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        """AWS Lambda entry point for a DynamoDB Streams trigger.

        Use it as the function's handler (``handler = router.lambda_handler``). Returns the
        ReportBatchItemFailures response; see :func:`.lambda_handler.process_batch`.
        """
        from dyntable.streams.lambda_handler import process_batch

        return process_batch(self, event)

    async def async_lambda_handler(self, event: Mapping[str, Any], context: object = None
                                   ) -> dict[str, Any]:
        """:meth:`lambda_handler` for routers with coroutine handlers: awaits them.

        Lambda calls handlers synchronously; run this in a loop per invocation::

            def handler(event, context):
                return asyncio.run(router.async_lambda_handler(event, context))

        See :func:`.lambda_handler.process_batch_async`.
        """
        from dyntable.streams.lambda_handler import process_batch_async

        return await process_batch_async(self, event)


def _name(handler: Callable[..., object]) -> str:
    return str(getattr(handler, "__qualname__", None) or getattr(handler, "__name__", None)
               or repr(handler))
