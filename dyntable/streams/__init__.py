"""DynamoDB Streams: typed records, a router by entity, a Lambda handler, a Streams-API consumer.

Names load on first use. Nothing here needs boto3: the consumer reads the Streams API
through the client's own transport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dyntable._lazy import lazy_exports

if TYPE_CHECKING:
    from dyntable.streams.checkpoints import Lease, LeaseLostError, LeaseStore
    from dyntable.streams.consumer import StreamConsumer
    from dyntable.streams.events import StreamEvent, decode_record
    from dyntable.streams.lambda_handler import process_batch
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
    "sequence_key": "dyntable.streams.records",
}

__all__ = [
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
    "sequence_key",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
