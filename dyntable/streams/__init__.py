"""DynamoDB Streams: typed records, a router by entity, a Lambda handler, a Streams-API consumer.

Names load on first use. Nothing here needs boto3: the consumers read the Streams API
through their client's own transport. The consumers' I/O is written once, as flows
(:mod:`dyntable.streams.polling`); :class:`StreamConsumer` runs them with the sync client,
:class:`AsyncStreamConsumer` with the asyncio client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dyntable._lazy import lazy_exports

if TYPE_CHECKING:
    from dyntable.streams.async_consumer import AsyncStreamConsumer
    from dyntable.streams.checkpoints import Lease, LeaseLostError, LeaseStore
    from dyntable.streams.consumer import StreamConsumer
    from dyntable.streams.events import StreamEvent, decode_record
    from dyntable.streams.lambda_handler import process_batch, process_batch_async
    from dyntable.streams.records import (
        ExpiredIteratorError,
        MissingImageError,
        StreamRecord,
        StreamRecordError,
        TrimmedDataError,
        parse_record,
        sequence_key,
    )
    from dyntable.streams.router import Router
    from dyntable.streams.source import StreamsAPI, TransportStreams

_LAZY: dict[str, str] = {
    "AsyncStreamConsumer": "dyntable.streams.async_consumer",
    "ExpiredIteratorError": "dyntable.streams.records",
    "Lease": "dyntable.streams.checkpoints",
    "LeaseLostError": "dyntable.streams.checkpoints",
    "LeaseStore": "dyntable.streams.checkpoints",
    "MissingImageError": "dyntable.streams.records",
    "Router": "dyntable.streams.router",
    "StreamConsumer": "dyntable.streams.consumer",
    "StreamEvent": "dyntable.streams.events",
    "StreamRecord": "dyntable.streams.records",
    "StreamRecordError": "dyntable.streams.records",
    "StreamsAPI": "dyntable.streams.source",
    "TransportStreams": "dyntable.streams.source",
    "TrimmedDataError": "dyntable.streams.records",
    "decode_record": "dyntable.streams.events",
    "parse_record": "dyntable.streams.records",
    "process_batch": "dyntable.streams.lambda_handler",
    "process_batch_async": "dyntable.streams.lambda_handler",
    "sequence_key": "dyntable.streams.records",
}

__all__ = [
    "AsyncStreamConsumer",
    "ExpiredIteratorError",
    "Lease",
    "LeaseLostError",
    "LeaseStore",
    "MissingImageError",
    "Router",
    "StreamConsumer",
    "StreamEvent",
    "StreamRecord",
    "StreamRecordError",
    "StreamsAPI",
    "TransportStreams",
    "TrimmedDataError",
    "decode_record",
    "parse_record",
    "process_batch",
    "process_batch_async",
    "sequence_key",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
