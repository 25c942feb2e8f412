"""How single-item writes are settled after ambiguous failures (no network).

The flow :func:`dyntable._internal.operations.send.send` is driven here by a script of
answers, so each decision is checked on its own: what is resent, what is read, and what the
caller is told.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest

from dyntable._internal.operations import items as ops
from dyntable._internal.operations.flow import Request, Sleep
from dyntable._internal.operations.send import SETTLE_RESENDS, Outcome, send, settle
from dyntable._internal.schema.receipts import SLOTS, Receipts, entry, slot
from dyntable.codec import codec_for
from dyntable.errors import (
    ConditionalCheckFailedError,
    DyntableError,
    InternalServerError,
    ItemNotFoundError,
    OutcomeUnknownError,
    ThrottlingError,
    TransportError,
    VersionConflictError,
)
from dyntable.expressions.paths import F
from dyntable.expressions.updates import Action
from tests.models import Customer, Product

Answer = dict[str, Any] | DyntableError


def _run(req: ops.Request, answers: Sequence[Answer]) -> tuple[Any, list[str]]:
    """Drive ``send(req)`` with ``answers``; return (result or error, operations sent)."""
    flow = send(req, rand=lambda: 0.0)
    sent: list[str] = []
    pending = list(answers)
    try:
        step = next(flow)
        while True:
            if isinstance(step, Sleep):
                step = flow.send(None)
                continue
            assert isinstance(step, Request)
            sent.append(step.operation)
            answer = pending.pop(0)
            step = flow.throw(answer) if isinstance(answer, DyntableError) else \
                flow.send(answer)
    except StopIteration as stop:
        return stop.value, sent
    except DyntableError as exc:
        return exc, sent


def _ambiguous(transport: bool = False) -> DyntableError:
    err: InternalServerError | TransportError = (
        TransportError("connection reset") if transport
        else InternalServerError("boom", code="InternalServerError", status=500))
    err.maybe_applied = True
    return err


def _ccf(item: dict[str, Any] | None, *, maybe_applied: bool = False
         ) -> ConditionalCheckFailedError:
    err = ConditionalCheckFailedError(
        "The conditional request failed", code="ConditionalCheckFailedException",
        operation="UpdateItem", status=400, response={"Item": item} if item else {})
    err.maybe_applied = maybe_applied
    return err


def _put(version: int = 3) -> ops.Request:
    product = Product(sku="s", title="t", price=Decimal(1), version=version)
    return ops.put_request(codec_for(Product), "shop", product)


def _stored(version: int, receipts: dict[int, str], floor: int = 1) -> dict[str, Any]:
    slots = {slot(v): (v, t) for v, t in receipts.items()}
    return {"PK": {"S": "PRODUCT#s"}, "SK": {"S": "PRODUCT"}, "_entity": {"S": "product"},
            "version": {"N": str(version)}, "_wt": Receipts(floor, slots).to_av()}


# -- settle ---------------------------------------------------------------------------------


def test_settle_finds_the_writes_own_receipt() -> None:
    req = _put(3)
    assert req.token is not None
    assert settle(req, _stored(4, {4: req.token})) is Outcome.APPLIED
    # applied, then others wrote on top: the receipt is still there
    assert settle(req, _stored(9, {4: req.token, 9: "x"})) is Outcome.APPLIED


def test_settle_never_compares_the_stored_item_with_the_writes_result() -> None:
    req = _put(3)
    # another writer made version 4 (its own receipt), whatever the item holds
    assert settle(req, _stored(4, {4: "someone-else"})) is Outcome.NOT_APPLIED
    # version 4 was made by a writer that keeps no receipt: slot 4 still holds version -4
    assert settle(req, _stored(5, {5: "x"})) is Outcome.NOT_APPLIED
    # still at the expected version: this write did not apply
    assert settle(req, _stored(3, {3: "x"})) is Outcome.NOT_APPLIED


def test_settle_says_unknown_when_nothing_can_tell() -> None:
    req = _put(3)
    assert settle(req, None) is Outcome.UNKNOWN  # gone: deleted since?
    assert settle(req, _stored(4 + SLOTS, {4 + SLOTS: "x"})) is Outcome.UNKNOWN  # slot reused
    assert settle(req, _stored(6, {6: "x"}, floor=6)) is Outcome.UNKNOWN  # receipts dropped
    no_receipts = _stored(5, {})
    del no_receipts["_wt"]
    assert settle(req, no_receipts) is Outcome.UNKNOWN  # replaced by another program


def test_a_versioned_delete_is_unknown_when_the_item_is_gone() -> None:
    codec = codec_for(Product)
    req = ops.delete_request(codec, "shop", codec.key({"sku": "s"}), expected_version=3)
    assert settle(req, None) is Outcome.UNKNOWN
    assert settle(req, _stored(4, {4: "x"})) is Outcome.NOT_APPLIED


# -- send -----------------------------------------------------------------------------------


def test_a_versioned_write_is_read_at_once_after_an_ambiguous_attempt() -> None:
    req = _put(3)
    assert req.token is not None
    result, sent = _run(req, [_ambiguous(), {"Item": _stored(4, {4: req.token})}])
    assert result == {}
    assert sent == ["PutItem", "GetItem"]


def test_still_at_the_expected_version_it_is_resent_and_the_resend_answers() -> None:
    req = _put(3)
    result, sent = _run(req, [_ambiguous(), {"Item": _stored(3, {3: "x"})}, {}])
    assert result == {} and sent == ["PutItem", "GetItem", "PutItem"]


def test_a_version_moved_on_without_its_receipt_is_a_conflict_for_good() -> None:
    req = _put(3)
    result, sent = _run(req, [_ambiguous(transport=True), {"Item": _stored(5, {4: "y"})}])
    assert isinstance(result, VersionConflictError)
    assert (result.expected, result.actual) == (3, 5)
    assert sent == ["PutItem", "GetItem"]


def test_a_resend_failing_on_its_own_receipt_is_applied() -> None:
    codec = codec_for(Product)
    spec = ops.UpdateSpec(expected_version=3)
    spec.actions.append(Action("SET", F.title, "new"))
    req = ops.update_request(codec, "shop", {"sku": "s"}, spec)
    assert req.token is not None
    mine = _stored(4, {4: req.token})
    result, sent = _run(req, [_ambiguous(), {"Item": _stored(3, {})}, _ccf(mine)])
    assert result == {"Attributes": mine}
    assert sent == ["UpdateItem", "GetItem", "UpdateItem"]


def test_a_throttle_is_never_treated_as_maybe_applied() -> None:
    req = _put(3)
    throttled = ThrottlingError("slow down", code="ThrottlingException", status=400)
    result, sent = _run(req, [throttled])
    assert isinstance(result, ThrottlingError) and sent == ["PutItem"]
    # a failed condition without an ambiguous attempt is a plain conflict
    result, _ = _run(_put(3), [_ccf(_stored(4, {4: "someone-else"}))])
    assert isinstance(result, VersionConflictError)


def test_a_write_that_never_gets_an_answer_is_unknown_after_bounded_resends() -> None:
    req = _put(3)
    answers: list[Answer] = []
    for _ in range(1 + SETTLE_RESENDS):
        answers += [_ambiguous(), {"Item": _stored(3, {})}]
    result, sent = _run(req, answers)
    assert isinstance(result, OutcomeUnknownError)
    assert result.key == req.key and result.operation == "PutItem"
    assert sent == ["PutItem", "GetItem"] * (1 + SETTLE_RESENDS)


def test_a_non_idempotent_update_is_never_resent() -> None:
    codec = codec_for(Customer)
    spec = ops.UpdateSpec()
    spec.actions.append(Action("ADD", F.order_count, 1))
    req = ops.update_request(codec, "shop", {"username": "ada"}, spec)
    assert not req.idempotent
    result, sent = _run(req, [_ambiguous()])
    assert isinstance(result, OutcomeUnknownError) and sent == ["UpdateItem"]


@pytest.mark.parametrize("make", [
    lambda s: s.actions.append(Action("SET", F.name, "x")),
    lambda s: s.actions.append(Action("REMOVE", F.address)),
    lambda s: s.actions.append(Action("ADD", F.tags, {"a"})),
    lambda s: s.actions.append(Action("DELETE", F.tags, {"a"})),
])
def test_updates_that_only_set_remove_or_touch_sets_are_idempotent(
    make: Callable[[ops.UpdateSpec], None]
) -> None:
    spec = ops.UpdateSpec()
    make(spec)
    req = ops.update_request(codec_for(Customer), "shop", {"username": "ada"}, spec)
    assert req.idempotent
    result, sent = _run(req, [_ambiguous(), {"Attributes": {}}])
    assert result == {"Attributes": {}} and sent == ["UpdateItem", "UpdateItem"]


def test_an_unversioned_conditional_write_failing_after_ambiguity_is_unknown() -> None:
    req = ops.put_request(codec_for(Customer), "shop",
                          Customer(username="ada", email="e", name="n"), if_absent=True,
                          check_version=False)
    result, sent = _run(req, [_ambiguous(), _ccf({"PK": {"S": "x"}})])
    assert isinstance(result, OutcomeUnknownError)
    assert sent == ["PutItem", "PutItem"]


def test_an_update_of_a_missing_item_says_so() -> None:
    spec = ops.UpdateSpec()
    spec.actions.append(Action("SET", F.name, "x"))
    req = ops.update_request(codec_for(Customer), "shop", {"username": "ada"}, spec)
    result, _ = _run(req, [_ccf(None)])
    assert isinstance(result, ItemNotFoundError)
    assert "an update changes an existing item and never creates one" in str(result)


def test_a_missing_receipt_map_is_filled_once() -> None:
    from dyntable.errors import ServiceValidationError

    spec = ops.UpdateSpec(expected_version=3)
    spec.actions.append(Action("SET", F.title, "x"))
    req = ops.update_request(codec_for(Product), "shop", {"sku": "s"}, spec)
    assert req.receipts_fallback is not None
    assert "#n" in req.params["UpdateExpression"]
    invalid = ServiceValidationError(
        "The document path provided in the update expression is invalid for update",
        code="ValidationException")
    flow = send(req)
    first = next(flow)
    assert isinstance(first, Request) and first.params is req.params
    second = flow.throw(invalid)
    assert isinstance(second, Request) and second.params is req.receipts_fallback
    values = second.params["ExpressionAttributeValues"].values()
    assert {"M": {slot(4): {"S": entry(4, req.token or "")}, "f": {"N": "4"}}} in values
