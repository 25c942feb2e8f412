"""The core protocol: requests as values, and flows that do no I/O.

Every DynamoDB call dyntable makes is a :class:`Request`: the operation, its parameters and
what is needed to read its answer. Every operation is a *flow*: a generator that yields
steps and receives answers, as httpx's ``Auth.auth_flow`` does::

    Request   send it; the response is sent back in (or the error thrown in)
    Sleep     pause, then continue
    Emit      hand a value to the caller (a page of a query) and continue

Flows never hold a client or a transport. Two drivers run them: the sync
:class:`~dyntable.client.Client` and the asyncio :class:`~dyntable.async_client.AsyncClient`;
each is a thin loop over its transport. Requests reach the drivers only through
:func:`dyntable._internal.operations.send.send`, the one send path (error context, version
conflicts, ambiguous outcomes).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dyntable._internal.schema.receipts import Receipts

__all__ = ["AV", "Emit", "Flow", "Request", "Sleep", "Step", "gather"]

R = TypeVar("R")
AV = dict[str, Any]


@dataclass(slots=True)
class Request:
    """A compiled request: the operation, its parameters and what is needed to read its answer.

    Attributes:
        operation / params: what is sent.
        key: the item key (wire form), for error context.
        model: the model class the request is about (``None`` for raw requests).
        kind: ``"put"``, ``"update"``, ``"delete"``, ``"get"`` or ``""`` (any other call).
        version_checked: the write checks the stored version (optimistic locking).
        expected_version / new_version: the version expected and the version written.
        token: the write's receipt token (versioned writes), unique to this write: an
            ambiguous failure is settled by finding it in the stored item
            (:mod:`dyntable._internal.operations.send`).
        receipts: the receipts the item holds once this write is applied (puts).
        idempotent: resending the request cannot apply it twice. False for unconditional
            updates that add, append or compute from stored values.
        needs_item: the write requires an existing item (updates).
        if_absent: the put refuses to replace an existing item.
        guarded: the request refuses items of other entities (entity condition).
        receipts_fallback: for an update that sets its receipt slot: the same request
            setting the whole receipt map, sent when the item has no map yet.
    """

    operation: str
    params: dict[str, Any]
    key: dict[str, AV] = field(default_factory=dict)
    model: type[Any] | None = None
    kind: str = ""
    version_checked: bool = False
    expected_version: int | None = None
    new_version: int | None = None
    token: str | None = None
    receipts: Receipts | None = None
    #: timestamp fields a put stored (given to the object once it succeeded)
    stamps: dict[str, Any] | None = None
    idempotent: bool = True
    needs_item: bool = False
    if_absent: bool = False
    guarded: bool = False
    receipts_fallback: dict[str, Any] | None = None

    @property
    def table(self) -> str:
        """The table the request names (``""`` for calls that name several or none)."""
        name = self.params.get("TableName")
        return name if isinstance(name, str) else ""

    @property
    def transport_resends(self) -> bool:
        """May the transport itself resend this request after an attempt that may have
        been applied? Not for non-idempotent writes, and not for versioned writes, which
        :func:`~dyntable._internal.operations.send.send` settles by reading their receipt first."""
        return self.idempotent and not self.version_checked


@dataclass(frozen=True, slots=True)
class Sleep:
    """A flow step: pause ``seconds`` before the next step."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Emit:
    """A flow step: hand ``value`` to the caller (e.g. one page), then continue."""

    value: Any


Step = Request | Sleep | Emit
#: A flow returning ``R``.
Flow = Generator[Step, Any, R]


def gather(flow: Flow[Any], until: Callable[[list[Any]], bool] | None = None
           ) -> Flow[list[Any]]:
    """Run ``flow`` inside another flow and return what it emitted, in order.

    Its requests and sleeps pass through to the driver; with ``until``, the inner flow is
    closed as soon as ``until(emitted so far)`` is true.
    """
    emitted: list[Any] = []
    try:
        step = next(flow)
        while True:
            if isinstance(step, Emit):
                emitted.append(step.value)
                if until is not None and until(emitted):
                    flow.close()
                    return emitted
                step = flow.send(None)
                continue
            try:
                answer = yield step
            except Exception as exc:
                step = flow.throw(exc)
            else:
                step = flow.send(answer)
    except StopIteration:
        return emitted
