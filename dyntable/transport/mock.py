"""``MockTransport``: answers every call with a function of yours (for unit tests).

No network, no emulation: the handler decides what each call returns or raises::

    def handler(operation, params):
        if operation == "GetItem":
            return {"Item": {"PK": {"S": "CUSTOMER#ada"}, ...}}
        return {}

    db = shop.connect(transport=MockTransport(handler))

Every call is recorded in ``sent`` (operation and a copy of the parameters), so a test
can assert on exactly what was sent. DynamoDB Streams calls (``DescribeStream``,
``GetShardIterator``, ``GetRecords``, ``ListStreams``) reach the handler like any other,
so a ``StreamConsumer`` can be driven by one. The asyncio twin is
:class:`~dyntable.transport.aio_mock.AsyncMockTransport` (same recording).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass

from dyntable.transport.base import Hook, Params, Response, TransportBase

__all__ = ["MockCall", "MockRecorder", "MockTransport"]

MockHandler = Callable[[str, Params], Response]


@dataclass(frozen=True)
class MockCall:
    """One recorded call: the operation and a deep copy of its parameters."""

    operation: str
    params: Params


def empty_response(operation: str, params: Params) -> Response:
    """The default handler's answer: ``{}``."""
    return {}


class MockRecorder:
    """What a mock transport records: every call in ``sent``, and whether it was closed."""

    def __init__(self) -> None:
        self.sent: list[MockCall] = []
        self.closed = False
        self._lock = threading.Lock()

    def record(self, operation: str, params: Params) -> None:
        """Add a call to ``sent`` (parameters deep-copied: later changes do not show)."""
        call = MockCall(operation, copy.deepcopy(params))
        with self._lock:
            self.sent.append(call)

    def operations(self) -> list[str]:
        """The operations sent so far, in order."""
        return [c.operation for c in self.sent]


class MockTransport(MockRecorder, TransportBase):
    """Calls ``handler(operation, params)`` for every request and records it.

    Args:
        handler: returns the response dict, or raises a dyntable error
            (e.g. :class:`~dyntable.errors.ConditionalCheckFailedError`); default: ``{}``.
        hooks: callables receiving a :class:`~dyntable.transport.base.CallEvent` per call.
    """

    name = "mock"

    def __init__(self, handler: MockHandler | None = None, *,
                 hooks: list[Hook] | None = None) -> None:
        TransportBase.__init__(self, hooks)
        MockRecorder.__init__(self)
        self.handler = handler or empty_response

    def send(self, operation: str, params: Params) -> Response:
        """Record the call and return the handler's answer."""
        self.record(operation, params)
        with self.timed(operation, params) as event:
            response = self.handler(operation, params)
            event.consumed_capacity = response.get("ConsumedCapacity")
            return response

    def close(self) -> None:
        """Mark the transport closed (``closed`` becomes True)."""
        self.closed = True
