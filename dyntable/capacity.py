"""Capacity and cost accounting: measured units, estimated units and on-demand prices.

Measured capacity: wrap a transport in :class:`MeteredTransport` (an asyncio one in
:class:`AsyncMeteredTransport`), or call :func:`measure` on a client (sync or async), and
every item operation asks DynamoDB for ``ReturnConsumedCapacity``; the answers are summed
into a running total and into every unit of work open in the current context::

    with capacity.measure(db) as usage:
        db.put(order)
        db.query(Order.primary, username="ada").all()
    usage.read_units, usage.write_units, usage.cost()

Units of work nest (an outer one sees what inner ones see) and follow
:mod:`contextvars`: a thread (or asyncio task) only feeds the units of work it opened.

Estimated capacity: :func:`estimate_read_units`, :func:`estimate_query_read_units` and
:func:`estimate_write_units` apply DynamoDB's rounding rules to item sizes (see
:func:`dyntable._internal.codec.limits.item_size`). Cost: :class:`Prices` (on-demand, default
us-east-1) times units.

The logging and metrics hooks (:func:`logging_hook`, :class:`OperationMetrics`) live in
:mod:`dyntable.transport.hooks`; they are re-exported here.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from dyntable.transport.base import (
    WRITE_OPERATIONS,
    AsyncTransport,
    Params,
    Response,
    Transport,
)
from dyntable.transport.hooks import OperationMetrics, OperationStats, logging_hook

if TYPE_CHECKING:
    from dyntable.async_client import AsyncClient
    from dyntable.client import Client

__all__ = [
    "ON_DEMAND_US_EAST_1",
    "AsyncMeteredTransport",
    "CapacityMeter",
    "CapacityUsage",
    "MeteredTransport",
    "OperationMetrics",
    "OperationStats",
    "Prices",
    "Units",
    "estimate_query_read_units",
    "estimate_read_units",
    "estimate_write_units",
    "logging_hook",
    "measure",
]

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024

#: Operations that accept ``ReturnConsumedCapacity``.
METERED_OPERATIONS = frozenset(
    {
        "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
        "BatchWriteItem", "TransactGetItems", "TransactWriteItems", "ExecuteStatement",
        "BatchExecuteStatement", "ExecuteTransaction",
    }
)


# -- estimates -----------------------------------------------------------------------------


def estimate_read_units(
    item_size_bytes: int, consistent: bool = False, transactional: bool = False
) -> float:
    """Read units to read one item of ``item_size_bytes`` (GetItem, one BatchGetItem key).

    4 KB per unit, rounded up (at least one, also for an item that is not found);
    eventually consistent reads cost half, transactional reads twice.
    """
    units = max(1, math.ceil(item_size_bytes / READ_UNIT_BYTES))
    if transactional:
        return float(2 * units)
    return float(units) if consistent else units / 2


def estimate_query_read_units(sizes: Iterable[int], consistent: bool = False) -> float:
    """Read units of one Query / Scan page: the items' sizes are summed, then rounded up."""
    units = max(1, math.ceil(sum(sizes) / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def estimate_write_units(item_size_bytes: int, transactional: bool = False) -> float:
    """Write units to write one item of ``item_size_bytes``: 1 KB per unit, rounded up.

    For an update or delete, DynamoDB counts the larger of the item before and after.
    Transactional writes cost twice. Index writes are extra (one write per index updated).
    """
    units = max(1, math.ceil(item_size_bytes / WRITE_UNIT_BYTES))
    return float(2 * units if transactional else units)


# -- prices --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prices:
    """On-demand prices per million request units.

    Attributes:
        read_per_million: price of one million read request units.
        write_per_million: price of one million write request units.
        currency: the currency of both prices.
    """

    read_per_million: Decimal
    write_per_million: Decimal
    currency: str = "USD"

    def cost(self, read_units: float, write_units: float) -> Decimal:
        """The price of ``read_units`` and ``write_units``."""
        reads = Decimal(str(read_units)) * self.read_per_million
        writes = Decimal(str(write_units)) * self.write_per_million
        return (reads + writes) / Decimal(1_000_000)


# DynamoDB on-demand, Standard table class, us-east-1, after the price cut of
# 1 November 2024 (AWS "Amazon DynamoDB pricing" page, on-demand capacity):
# $0.125 per million read request units, $0.625 per million write request units.
# Not re-checked against the live price list by the code; pass your own Prices for other
# regions, table classes or later changes.
ON_DEMAND_US_EAST_1 = Prices(read_per_million=Decimal("0.125"),
                             write_per_million=Decimal("0.625"))


# -- usage -----------------------------------------------------------------------------------


@dataclass
class Units:
    """Read and write capacity units."""

    read: float = 0.0
    write: float = 0.0

    def add(self, read: float, write: float) -> None:
        """Add units."""
        self.read += read
        self.write += write


@dataclass
class CapacityUsage:
    """Capacity consumed by a unit of work (or in total), as DynamoDB reported it.

    Attributes:
        read_units / write_units: totals (table and indexes).
        tables: table name -> units (table and its indexes).
        indexes: ``(table, index)`` -> units (only reported with ``mode="INDEXES"``).
        operations: operation name -> number of metered calls.
    """

    read_units: float = 0.0
    write_units: float = 0.0
    tables: dict[str, Units] = field(default_factory=dict)
    indexes: dict[tuple[str, str], Units] = field(default_factory=dict)
    operations: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def calls(self) -> int:
        """Metered calls counted."""
        return sum(self.operations.values())

    def cost(self, prices: Prices = ON_DEMAND_US_EAST_1) -> Decimal:
        """On-demand cost of these units at ``prices``."""
        return prices.cost(self.read_units, self.write_units)

    def record(self, operation: str, consumed: Any) -> None:
        """Add one response's ``ConsumedCapacity`` (a dict, a list of dicts, or None)."""
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        write = operation in WRITE_OPERATIONS
        with self._lock:
            self.operations[operation] = self.operations.get(operation, 0) + 1
            for entry in entries:
                self._add_entry(entry, write)

    def _add_entry(self, entry: Mapping[str, Any], write: bool) -> None:
        read_units, write_units = _split(entry, write)
        self.read_units += read_units
        self.write_units += write_units
        table = str(entry.get("TableName", ""))
        self.tables.setdefault(table, Units()).add(read_units, write_units)
        for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            for index, part in (entry.get(kind) or {}).items():
                r, w = _split(part, write)
                self.indexes.setdefault((table, index), Units()).add(r, w)


def _split(entry: Mapping[str, Any], write: bool) -> tuple[float, float]:
    """(read, write) units of a ConsumedCapacity entry or of one of its parts."""
    read = entry.get("ReadCapacityUnits")
    written = entry.get("WriteCapacityUnits")
    if read is None and written is None:
        total = float(entry.get("CapacityUnits") or 0.0)
        return (0.0, total) if write else (total, 0.0)
    return float(read or 0.0), float(written or 0.0)


_ACTIVE: ContextVar[tuple[tuple[CapacityMeter, CapacityUsage], ...]] = ContextVar(
    "dyntable_capacity_units_of_work", default=()
)


class CapacityMeter:
    """A running total of consumed capacity, plus units of work opened with :meth:`track`."""

    def __init__(self) -> None:
        self.total = CapacityUsage()

    @contextmanager
    def track(self) -> Iterator[CapacityUsage]:
        """A unit of work: the usage of the calls made inside the ``with`` block."""
        usage = CapacityUsage()
        token = _ACTIVE.set((*_ACTIVE.get(), (self, usage)))
        try:
            yield usage
        finally:
            _ACTIVE.reset(token)

    def record(self, operation: str, consumed: Any) -> None:
        """Add a response's ``ConsumedCapacity`` to the total and to the open units of work."""
        self.total.record(operation, consumed)
        for meter, usage in _ACTIVE.get():
            if meter is self:
                usage.record(operation, consumed)


class _Metering:
    """What both metered transports share: the options, the meter, and the bookkeeping
    before and after the inner call (no I/O)."""

    name = "metered"

    def __init__(
        self,
        *,
        mode: Literal["TOTAL", "INDEXES"] = "TOTAL",
        meter: CapacityMeter | None = None,
    ) -> None:
        if mode not in ("TOTAL", "INDEXES"):
            raise ValueError(f"mode must be TOTAL or INDEXES, not {mode!r}")
        self.mode = mode
        self.meter = meter or CapacityMeter()

    @property
    def total(self) -> CapacityUsage:
        """Everything recorded since this transport was made."""
        return self.meter.total

    def track(self) -> AbstractContextManager[CapacityUsage]:
        """A unit of work (see :meth:`CapacityMeter.track`)."""
        return self.meter.track()

    def request(self, operation: str, params: Params) -> Params:
        """The parameters to send: ``params`` asking for ``ReturnConsumedCapacity`` when the
        operation takes it and the caller did not set it (a copy; ``params`` is kept)."""
        if operation in METERED_OPERATIONS and "ReturnConsumedCapacity" not in params:
            return {**params, "ReturnConsumedCapacity": self.mode}
        return params

    def record(self, operation: str, response: Response) -> None:
        """Record what the answer says was consumed (item operations only)."""
        if operation in METERED_OPERATIONS:
            self.meter.record(operation, response.get("ConsumedCapacity"))


class MeteredTransport(_Metering):
    """Asks for ``ReturnConsumedCapacity`` on item operations and records the answers.

    Args:
        inner: the transport to wrap.
        mode: ``"TOTAL"`` (per table) or ``"INDEXES"`` (per table and per index).
        meter: where the usage goes (default: a new :class:`CapacityMeter`).

    A request that already sets ``ReturnConsumedCapacity`` keeps its own value. Reads
    answered by a cache below this transport report no capacity (they consumed none).
    A failed call records nothing; its error reaches the caller unchanged.
    """

    def __init__(
        self,
        inner: Transport,
        *,
        mode: Literal["TOTAL", "INDEXES"] = "TOTAL",
        meter: CapacityMeter | None = None,
    ) -> None:
        super().__init__(mode=mode, meter=meter)
        self.inner = inner

    def send(self, operation: str, params: Params) -> Response:
        """Send with ``ReturnConsumedCapacity`` and record what was consumed."""
        response: Response = self.inner.send(operation, self.request(operation, params))
        self.record(operation, response)
        return response

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()


class AsyncMeteredTransport(_Metering):
    """:class:`MeteredTransport` over an :class:`~dyntable.transport.base.AsyncTransport`.

    Args:
        inner: the asyncio transport to wrap.
        mode / meter: as for :class:`MeteredTransport`.

    Units of work follow the asyncio task that opened them (:mod:`contextvars`).
    """

    def __init__(
        self,
        inner: AsyncTransport,
        *,
        mode: Literal["TOTAL", "INDEXES"] = "TOTAL",
        meter: CapacityMeter | None = None,
    ) -> None:
        super().__init__(mode=mode, meter=meter)
        self.inner = inner

    async def send(self, operation: str, params: Params) -> Response:
        """Send with ``ReturnConsumedCapacity`` and record what was consumed."""
        response = await self.inner.send(operation, self.request(operation, params))
        self.record(operation, response)
        return response

    async def close(self) -> None:
        """Close the inner transport."""
        await self.inner.close()


@contextmanager
def measure(client: Client | AsyncClient, *, mode: Literal["TOTAL", "INDEXES"] = "TOTAL"
            ) -> Iterator[CapacityUsage]:
    """A unit of work on ``client``: ``with measure(db) as usage: ...``.

    The first call wraps ``client.transport`` in a :class:`MeteredTransport` (an
    :class:`AsyncMeteredTransport` for an async client), kept afterwards, so later calls
    reuse its meter and total. With an async client, the calls awaited inside the block
    by the task that opened it are counted.
    """
    transport: Any = client.transport
    if not isinstance(transport, _Metering):
        from inspect import iscoroutinefunction

        wrap = AsyncMeteredTransport if iscoroutinefunction(transport.send) else MeteredTransport
        transport = wrap(transport, mode=mode)
        client.transport = transport
    with transport.meter.track() as usage:
        yield usage
