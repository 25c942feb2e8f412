"""DaxTransport: wiring against a test double of the DAX client, and a real cluster if set.

Without ``DYNTABLE_DAX_ENDPOINT`` only the test double runs (``test_dax_wiring_with_test_double``
and the error-mapping tests); ``test_dax_real_cluster`` is skipped and says so.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import Any

import pytest

from dyntable.errors import (
    ConditionalCheckFailedError,
    InternalServerError,
    InvalidRequestError,
    ServiceError,
    ServiceValidationError,
    ThrottlingError,
    TransactionCanceledError,
    TransportError,
    VersionConflictError,
)
from dyntable.transport.base import CallEvent
from dyntable.transport.dax import DaxTransport, map_dax_error
from dyntable.transport.mock import MockTransport

DAX_ENDPOINT = os.environ.get("DYNTABLE_DAX_ENDPOINT", "").strip()


class FakeDaxClient:
    """The DAX client's call surface: boto3-style keyword methods, its error types."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error = error
        self.closed = False

    def _call(self, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((name, kwargs))
        if self.error is not None:
            raise self.error
        if name == "get_item":
            return {"Item": dict(kwargs["Key"], name={"S": "Ada"}),
                    "ConsumedCapacity": {"TableName": kwargs["TableName"], "CapacityUnits": 0.5}}
        return {}

    def get_item(self, **kw: Any) -> dict[str, Any]:
        return self._call("get_item", kw)

    def put_item(self, **kw: Any) -> dict[str, Any]:
        return self._call("put_item", kw)

    def query(self, **kw: Any) -> dict[str, Any]:
        return self._call("query", kw)

    def transact_write_items(self, **kw: Any) -> dict[str, Any]:
        return self._call("transact_write_items", kw)

    def close(self) -> None:
        self.closed = True


def make(error: BaseException | None = None,
         fallback: MockTransport | None = None) -> tuple[DaxTransport, FakeDaxClient]:
    fake = FakeDaxClient(error)
    return DaxTransport("dax://cluster.example:8111", region="us-east-1", client=fake,
                        fallback=fallback), fake


def test_dax_wiring_with_test_double() -> None:
    fallback = MockTransport(lambda op, p: {"Table": {"TableName": p["TableName"]}})
    events: list[CallEvent] = []
    dax, fake = make(fallback=fallback)
    dax.add_hook(events.append)
    key = {"PK": {"S": "a"}, "SK": {"S": "b"}}
    got = dax.send("GetItem", {"TableName": "t", "Key": key})
    assert got["Item"]["name"] == {"S": "Ada"}
    assert fake.calls == [("get_item", {"TableName": "t", "Key": key})]
    assert dax.send("DescribeTable", {"TableName": "t"}) == {"Table": {"TableName": "t"}}
    assert fallback.operations() == ["DescribeTable"]
    assert [(e.operation, e.transport) for e in events] == [("GetItem", "dax")]
    assert events[0].consumed_capacity == {"TableName": "t", "CapacityUnits": 0.5}
    dax.close()
    assert fake.closed and fallback.closed


def test_table_operations_need_a_fallback() -> None:
    dax, fake = make()
    with pytest.raises(InvalidRequestError, match="fallback=Boto3Transport"):
        dax.send("CreateTable", {"TableName": "t"})
    with pytest.raises(InvalidRequestError, match="ExecuteStatement"):
        dax.send("ExecuteStatement", {"Statement": "SELECT * FROM t"})
    assert fake.calls == []


def test_endpoint_scheme_is_checked() -> None:
    with pytest.raises(InvalidRequestError, match="dax://"):
        DaxTransport("http://localhost:8000", region="us-east-1", client=FakeDaxClient())
    DaxTransport("daxs://cluster.example", region="us-east-1", client=FakeDaxClient())


def test_missing_dax_client_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "amazondax", None)
    with pytest.raises(ImportError, match=r"dyntable\[dax\]"):
        DaxTransport("dax://cluster.example", region="us-east-1")


def test_socket_errors_are_transport_errors() -> None:
    dax, _ = make(TimeoutError("timed out"))
    with pytest.raises(TransportError, match="GetItem via DAX"):
        dax.send("GetItem", {"TableName": "t", "Key": {}})


# -- the DAX client's own error types --------------------------------------------------------


@pytest.fixture
def dax_errors() -> Any:
    return pytest.importorskip("amazondax.DaxError",
                               reason="amazon-dax-client not installed (dyntable[dax])")


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([4, 37, 38, 39, 43], ConditionalCheckFailedError),
        ([4, 37, 38, 39, 50], ThrottlingError),
        ([4, 37, 38, 39, 40], ThrottlingError),
        ([4, 37, 38, 39, 46], ServiceValidationError),
        ([3, 37, 54], InternalServerError),
    ],
)
def test_dax_service_errors_map(dax_errors: Any, codes: list[int],
                                expected: type[ServiceError]) -> None:
    exc = dax_errors.DaxServiceError("PutItem", "nope", codes, "req-1", None, 400)
    dax, _ = make(exc)
    with pytest.raises(expected) as info:
        dax.send("PutItem", {"TableName": "t", "Item": {}})
    assert isinstance(info.value, ServiceError)
    assert info.value.operation == "PutItem"
    assert info.value.message == "nope"


def test_dax_connection_errors_map_to_transport_error(dax_errors: Any) -> None:
    no_route = dax_errors.DaxClientError("No cluster endpoints available",
                                         dax_errors.DaxErrorCode.NoRoute)
    closed = dax_errors.DaxServiceError.from_no_more_data_exception("GetItem", EOFError())
    for exc in (no_route, closed):
        assert isinstance(map_dax_error("GetItem", exc), TransportError)


def test_dax_transaction_cancel_keeps_reasons(dax_errors: Any) -> None:
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "failed"}]
    exc = dax_errors.DaxServiceError("TransactWriteItems", "cancelled", [4, 37, 38, 39, 58],
                                     None, None, 400, reasons)
    err = map_dax_error("TransactWriteItems", exc)
    assert isinstance(err, TransactionCanceledError)
    assert [(r.index, r.code) for r in err.failed] == [(1, "ConditionalCheckFailed")]


def test_client_over_dax_maps_version_conflicts(dax_errors: Any) -> None:
    from tests.models import Customer, shop

    exc = dax_errors.DaxServiceError("PutItem", "failed", [4, 37, 38, 39, 43], None, None, 400)
    dax, fake = make(exc)
    db = shop.connect(transport=dax)
    with pytest.raises(VersionConflictError) as info:
        db.put(Customer(username="ada", email="a@x.io", name="Ada", version=3))
    assert info.value.expected == 3
    assert info.value.key == {"PK": {"S": "CUSTOMER#ada"}, "SK": {"S": "CUSTOMER#ada"}}
    assert fake.calls[0][0] == "put_item"


# -- a real cluster --------------------------------------------------------------------------


@pytest.mark.dyntable_dax
@pytest.mark.skipif(not DAX_ENDPOINT, reason="no DAX cluster: DYNTABLE_DAX_ENDPOINT not set")
def test_dax_real_cluster() -> None:
    from dyntable.transport.boto3 import Boto3Transport
    from tests.models import Customer, shop

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    dax = DaxTransport(DAX_ENDPOINT, region=region, fallback=Boto3Transport(region=region))
    db = shop.connect(transport=dax, table_name=f"dyntable-dax-{uuid.uuid4().hex[:10]}")
    db.create_table()
    try:
        db.put(Customer(username="ada", email="a@x.io", name="Ada"))
        assert db.get(Customer, username="ada", consistent=True) is not None
        assert [c.username for c in db.query(Customer.primary, username="ada")] == ["ada"]
    finally:
        db.delete_table(wait=False)
        db.close()
