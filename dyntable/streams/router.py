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
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

from dyntable.errors import DeclarationError
from dyntable.streams.events import StreamEvent, decode_record
from dyntable.streams.records import StreamRecord, parse_record

if TYPE_CHECKING:
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = ["Decorator", "Handler", "Router"]

M = TypeVar("M", bound="Model")
H = TypeVar("H", bound=Callable[..., object])
#: A stream handler: takes the typed event, its return value is ignored.
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

    def dispatch(self, event: StreamEvent[Any]) -> int:
        """Run the handlers of ``event``; return how many ran. Handler errors propagate."""
        handlers = self.handlers_for(event)
        if not handlers:
            log.debug("stream record %s (%s, entity %s): no handler", event.sequence_number,
                      event.record.event_name, event.entity or "?")
        for handler in handlers:
            handler(event)
        return len(handlers)

    def handle(self, raw: Mapping[str, Any] | StreamRecord) -> StreamEvent[Any]:
        """Decode and dispatch one record; return its event."""
        event = self.decode(raw)
        self.dispatch(event)
        return event

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
