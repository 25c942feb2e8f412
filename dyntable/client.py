"""``Client``: drives compiled operations over a transport. Thin by design.

``db = table.connect()`` makes one; it sends nothing until used (no DescribeTable at
connect time).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from dyntable.codec.items import codec_for
from dyntable.errors import (
    DyntableError,
    InvalidRequestError,
    ServiceError,
    TableNotFoundError,
    WaitTimeoutError,
)
from dyntable.expressions.conditions import Condition
from dyntable.expressions.paths import F, Path
from dyntable.operations import items as ops
from dyntable.operations.collections import Collection
from dyntable.operations.outcomes import execute, transport_resends
from dyntable.operations.query import Query
from dyntable.operations.reads import Scan
from dyntable.operations.retry import Wait
from dyntable.operations.tables import create_table_params, ttl_params
from dyntable.operations.update_actions import UpdateActions
from dyntable.schema.receipts import remember
from dyntable.transport.base import not_idempotent
from dyntable.ttl import item_expired

if TYPE_CHECKING:
    from dyntable.operations.batch import BatchGetResult, BatchWriter
    from dyntable.operations.transactions import Transaction
    from dyntable.schema.keys import ModelKey
    from dyntable.schema.model import Model
    from dyntable.schema.table import Table
    from dyntable.transport.base import Transport

__all__ = ["Client", "UpdateBuilder", "default_transport"]

M = TypeVar("M", bound="Model")


_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def default_transport(
    endpoint_url: str | None = None, region: str | None = None, **options: Any
) -> Transport:
    """The transport ``table.connect()`` makes when none is given.

    :class:`~dyntable.transport.http.HttpTransport` (DynamoDB's JSON protocol with dyntable's
    own SigV4 signing; credentials and region from the environment, else botocore's chain
    loaded lazily): measured at 0.3-0.5x the time of a boto3 client call and a fraction of
    its cold start. Behind an HTTP proxy (``HTTPS_PROXY`` / ``HTTP_PROXY`` set), which that
    transport does not speak, :class:`~dyntable.transport.boto3.Boto3Transport` is used.
    Pass ``transport=Boto3Transport(...)`` for botocore features (custom sessions, event
    hooks, adaptive retries). While moto's ``mock_aws`` is active and no ``endpoint_url`` is
    given it is a ``Boto3Transport`` too, which moto answers
    (:mod:`dyntable.transport.moto_guard`).
    """
    from dyntable.transport.moto_guard import transport_under_moto

    mocked = transport_under_moto(endpoint_url, region, **options)
    if mocked is not None:
        return mocked
    if any(os.environ.get(v) for v in _PROXY_VARIABLES):
        from dyntable.transport.boto3 import Boto3Transport

        return Boto3Transport(endpoint_url=endpoint_url, region=region, **options)
    from dyntable.transport.http import HttpTransport

    return HttpTransport(endpoint_url=endpoint_url, region=region, **options)


class Client:
    """Reads and writes the models of one table through a transport.

    Args:
        table: the table declaration.
        endpoint_url / region: for the default transport (see :func:`default_transport`).
        transport: any :class:`~dyntable.transport.base.Transport` (boto3, HTTP, DAX,
            cache, mock).
        table_name: the physical table name when it differs from the declaration's
            (e.g. one table per stage, or per test).
        cursor_secret: HMAC secret for pagination cursors (default: derived from the table
            name, which detects corruption and misuse but not forgery).
        hide_expired: leave out items whose TTL has passed but that DynamoDB has not
            deleted yet (reads by query/scan/get).
        **transport_options: passed to the default transport (e.g. ``max_attempts``,
            ``read_timeout``).
    """

    def __init__(
        self,
        table: Table,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        transport: Transport | None = None,
        table_name: str | None = None,
        cursor_secret: str | bytes | None = None,
        hide_expired: bool = False,
        **transport_options: Any,
    ) -> None:
        self.table = table
        self.table_name = table_name or table.name
        if transport is None:
            transport = default_transport(endpoint_url, region, **transport_options)
        elif endpoint_url or region or transport_options:
            raise InvalidRequestError(
                "give either transport= or endpoint_url/region/transport options, not both"
            )
        self.transport = transport
        if cursor_secret is None:
            cursor_secret = hashlib.sha256(f"dyntable:{self.table_name}".encode()).digest()
        self.cursor_secret = (
            cursor_secret.encode() if isinstance(cursor_secret, str) else cursor_secret
        )
        self.hide_expired = hide_expired

    # -- sending ---------------------------------------------------------------------------

    def send(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one low-level request through the transport, adding error context."""
        try:
            return self.transport.send(operation, params)
        except ServiceError as exc:
            raise exc.with_context(table=params.get("TableName") or self.table_name,
                                   key=params.get("Key")) from None

    def _run(self, req: ops.Request) -> dict[str, Any]:
        """Send a compiled single-item request through :func:`~.outcomes.execute`."""
        flow = execute(req)
        transport = self.transport
        try:
            step = next(flow)
            while True:
                if isinstance(step, Wait):
                    time.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                sent = step.request
                try:
                    if sent.kind == "get" or transport_resends(sent):
                        response = transport.send(sent.operation, sent.params)
                    else:
                        with not_idempotent():
                            response = transport.send(sent.operation, sent.params)
                except DyntableError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
        except StopIteration as stop:
            result: dict[str, Any] = stop.value
            return result

    def _check_model(self, model: type[Any]) -> None:
        ops.require_table(model, self.table)

    # -- items -------------------------------------------------------------------------------

    def put(
        self,
        obj: M,
        *,
        condition: Condition | None = None,
        if_absent: bool = False,
        return_old: bool = False,
    ) -> M | None:
        """Write ``obj`` (replacing the item with its key).

        ``if_absent`` refuses to overwrite; ``condition`` must hold on the stored item. With a
        version field, the stored version must equal ``obj``'s (0: new item) and is bumped;
        ``obj``'s version is updated on success. Returns the old item with ``return_old``
        (``None`` also when a versioned put was settled as applied after an ambiguous
        failure: its old item is no longer known). An item of another entity at the same
        key is never replaced (:class:`~dyntable.errors.ForeignItemError`).
        """
        self._check_model(type(obj))
        codec = codec_for(type(obj))
        req = ops.put_request(codec, self.table_name, obj, condition=condition,
                              if_absent=if_absent, return_old=return_old)
        resp = self._run(req)
        if req.new_version is not None:
            vname = codec.spec.version_field
            assert vname is not None
            obj.__dict__[vname] = req.new_version
            remember(obj, req.new_version, req.receipts)
        if return_old:
            old = resp.get("Attributes")
            return codec.decode(old) if old else None
        return None

    def get(
        self,
        model: type[M],
        *,
        consistent: bool = False,
        project: Sequence[str | Path] | None = None,
        **key: Any,
    ) -> M | None:
        """The item with this primary key, or ``None``.

        ``project`` reads only some fields: the result is a partial object whose unread
        fields are absent (reading them raises AttributeError).
        """
        self._check_model(model)
        codec = codec_for(model)
        if project:
            project = [F[p] if isinstance(p, str) else p for p in project]
        req = ops.get_request(codec, self.table_name, codec.key(key), consistent=consistent,
                              project=project)
        resp = self._run(req)
        item = resp.get("Item")
        if not item:
            return None
        obj = codec.decode_partial(item) if project else codec.decode(item)
        if self.hide_expired and item_expired(obj):
            return None
        return obj

    @overload
    def delete(self, target: M, *, condition: Condition | None = ...,
               return_old: bool = ...) -> M | None: ...

    @overload
    def delete(self, target: type[M], *, condition: Condition | None = ...,
               return_old: bool = ..., **key: Any) -> M | None: ...

    def delete(
        self,
        target: M | type[M],
        *,
        condition: Condition | None = None,
        return_old: bool = False,
        **key: Any,
    ) -> M | None:
        """Delete by instance (its version is checked) or by model and key fields."""
        if isinstance(target, type):
            model = target
            self._check_model(model)
            codec = codec_for(model)
            wire_key = codec.key(key)
            expected = None
        else:
            if key:
                raise InvalidRequestError("delete(instance) takes no key fields")
            model = type(target)
            self._check_model(model)
            codec = codec_for(model)
            wire_key = codec.key_of(target)
            vname = codec.spec.version_field
            expected = int(getattr(target, vname)) if vname else None
        req = ops.delete_request(codec, self.table_name, wire_key, condition=condition,
                                 expected_version=expected, return_old=return_old)
        resp = self._run(req)
        if return_old:
            old = resp.get("Attributes")
            return codec.decode(old) if old else None
        return None

    @overload
    def update(self, target: M) -> UpdateBuilder[M]: ...

    @overload
    def update(self, target: type[M], **key: Any) -> UpdateBuilder[M]: ...

    def update(self, target: M | type[M], **key: Any) -> UpdateBuilder[M]:
        """An update builder: ``db.update(Customer, username="ada").set(name="Ada").execute()``.

        From an instance, the instance's version is checked (when the model has one) and
        its field values are known, so index keys can be rewritten without giving them.
        """
        return UpdateBuilder(self, target, key)

    # -- batches and transactions --------------------------------------------------------

    def batch_writer(
        self, *, deadline: float = 60.0, concurrency: int = 1, max_pending: int = 1000
    ) -> BatchWriter:
        """A batch writer: ``with db.batch_writer() as bw: bw.put(obj)``.

        25-item chunks, unprocessed items retried with backoff until ``deadline`` seconds per
        chunk, then :class:`~dyntable.errors.BatchWriteError` naming every item not written.
        ``concurrency > 1`` sends chunks from that many threads (bounded memory).
        """
        from dyntable.operations.batch import BatchWriter

        return BatchWriter(self, deadline=deadline, concurrency=concurrency,
                           max_pending=max_pending)

    def batch_get(
        self, keys: Iterable[Any], *, consistent: bool = False, deadline: float = 60.0
    ) -> BatchGetResult:
        """Read many items (instances or ``(Model, {key fields})``), 100 keys a call.

        Results keep the order of the keys given; absent items are listed in ``.missing``.
        """
        from dyntable.operations.batch import batch_get

        return batch_get(self, keys, consistent=consistent, deadline=deadline)

    def transaction(
        self, *, token: str | None = None, return_failed_items: bool = True,
        max_retries: int = 3,
    ) -> Transaction:
        """A write transaction: ``with db.transaction() as tx: tx.put(...)``.

        Committed as one TransactWriteItems when the block ends without an exception.
        """
        from dyntable.operations.transactions import Transaction

        return Transaction(self, token=token, return_failed_items=return_failed_items,
                           max_retries=max_retries)

    def transact_get(self, keys: Iterable[Any]) -> list[Any]:
        """Read up to 100 items atomically (TransactGetItems); ``None`` for absent items."""
        from dyntable.operations.transactions import transact_get

        return transact_get(self, keys)

    # -- reads -----------------------------------------------------------------------------

    def query(self, key: ModelKey[M], **fields: Any) -> Query[M]:
        """A query on a model key: partition fields, optionally leading sort-key fields."""
        return Query(self, key, fields)

    def scan(self, model: type[M], *, index: str | None = None) -> Scan[M]:
        """A scan keeping ``model``'s items."""
        return Scan(self, model, index)

    def collection(
        self,
        *,
        pk: str,
        index: str | None = None,
        sk_prefix: str | None = None,
        consistent: bool = False,
    ) -> Collection:
        """Every item of one partition (table or index), typed and grouped by entity."""
        from dyntable.expressions.compiler import Compiler
        from dyntable.expressions.paths import attr

        pk_attrs, sk_attrs = self.table.index_key_attrs(index)
        compiler = Compiler()
        cond = f"{compiler.path(attr(pk_attrs[0]))} = {compiler.value({'S': pk})}"
        if sk_prefix is not None:
            if not sk_attrs:
                raise InvalidRequestError("sk_prefix needs a sort key")
            cond += f" AND begins_with({compiler.path(attr(sk_attrs[0]))}, " \
                    f"{compiler.value({'S': sk_prefix})})"
        params: dict[str, Any] = {"TableName": self.table_name, "KeyConditionExpression": cond}
        if index:
            params["IndexName"] = index
            if consistent and not self.table.index(index).is_local:
                raise InvalidRequestError(f"index {index!r} is a GSI: no consistent reads")
        if consistent:
            params["ConsistentRead"] = True
        params.update(compiler.params())
        result = Collection()
        start: dict[str, Any] | None = None
        while True:
            req = dict(params)
            if start:
                req["ExclusiveStartKey"] = start
            resp = self.send("Query", req)
            for raw in resp.get("Items") or []:
                result.add(self.table, raw)
            start = resp.get("LastEvaluatedKey")
            if not start:
                return result

    def execute_statement(
        self,
        statement: str,
        parameters: Sequence[Any] = (),
        *,
        model: type[M] | None = None,
        consistent: bool = False,
        limit: int | None = None,
    ) -> list[Any]:
        """Run a PartiQL statement (``ExecuteStatement``), reading every page.

        ``parameters`` fill the statement's ``?`` placeholders (encoded by type; never pasted
        into the text). Items are decoded to ``model`` when given (items of other entities
        are skipped), otherwise by their entity attribute; items of unknown entities are
        returned as raw dicts.
        """
        from dyntable.codec.values import to_av
        from dyntable.operations.collections import decode_item

        params: dict[str, Any] = {"Statement": statement}
        if parameters:
            params["Parameters"] = [to_av(p, f"parameter {i}") for i, p in enumerate(parameters)]
        if consistent:
            params["ConsistentRead"] = True
        if limit is not None:
            params["Limit"] = limit
        out: list[Any] = []
        if model is not None:
            self._check_model(model)
        codec = codec_for(model) if model is not None else None
        while True:
            resp = self.send("ExecuteStatement", params)
            for raw in resp.get("Items") or []:
                if codec is not None:
                    if raw.get(codec.entity_attr) == codec.entity_av:
                        out.append(codec.decode(raw))
                    continue
                obj = decode_item(self.table, raw)
                out.append(obj if obj is not None else raw)
            token = resp.get("NextToken")
            if not token or (limit is not None and len(out) >= limit):
                return out
            params["NextToken"] = token

    # -- tables --------------------------------------------------------------------------

    def create_table(self, *, wait: bool = True, timeout: float = 300.0) -> dict[str, Any]:
        """Create the table from its declaration (keys, indexes, stream), then enable TTL.

        Waits until ACTIVE unless ``wait=False``; TTL can only be enabled on an ACTIVE table,
        so with ``wait=False`` call :meth:`enable_ttl` once it is. Returns the description.
        """
        params = create_table_params(self.table)
        params["TableName"] = self.table_name
        resp = self.send("CreateTable", params)
        desc: dict[str, Any] = resp.get("TableDescription", {})
        if wait:
            desc = self.wait_until_active(timeout=timeout)
        if wait:
            self.enable_ttl()
        return desc

    def enable_ttl(self) -> bool:
        """Enable TTL on the declared attribute (UpdateTimeToLive); False when none is declared.

        AWS allows one TTL change per table per hour.
        """
        ttl = ttl_params(self.table)
        if ttl is None:
            return False
        ttl["TableName"] = self.table_name
        self.send("UpdateTimeToLive", ttl)
        return True

    def wait_until_active(self, *, timeout: float = 300.0) -> dict[str, Any]:
        """Poll DescribeTable until the table and its indexes are ACTIVE."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            desc = self.describe_table()
            gsis = desc.get("GlobalSecondaryIndexes") or []
            if desc.get("TableStatus") == "ACTIVE" and all(
                g.get("IndexStatus") == "ACTIVE" for g in gsis
            ):
                return desc
            if time.monotonic() > deadline:
                raise WaitTimeoutError(
                    f"table {self.table_name} is not ACTIVE after {timeout}s (status "
                    f"{desc.get('TableStatus')}); it may still become ACTIVE: call "
                    "wait_until_active() again or raise timeout="
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def describe_table(self) -> dict[str, Any]:
        """DescribeTable's ``Table`` description."""
        resp = self.send("DescribeTable", {"TableName": self.table_name})
        table: dict[str, Any] = resp["Table"]
        return table

    def delete_table(self, *, wait: bool = True, timeout: float = 300.0) -> None:
        """Delete the table; waits until it is gone unless ``wait=False``.

        Raises :class:`~dyntable.errors.WaitTimeoutError` when it still exists after
        ``timeout`` seconds.
        """
        self.send("DeleteTable", {"TableName": self.table_name})
        if not wait:
            return
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            try:
                desc = self.describe_table()
            except TableNotFoundError:
                return
            if time.monotonic() > deadline:
                raise WaitTimeoutError(
                    f"table {self.table_name} still exists {timeout}s after DeleteTable "
                    f"(status {desc.get('TableStatus')}); it may still go away"
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def table_exists(self) -> bool:
        """True when DescribeTable finds the table."""
        try:
            self.describe_table()
        except TableNotFoundError:
            return False
        return True

    def close(self) -> None:
        """Close the transport."""
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class UpdateBuilder(UpdateActions, Generic[M]):
    """Collects update actions; ``execute()`` sends them and returns the updated item.

    Top-level fields are given as keywords (``set(name="Ada")``); nested paths as a path and
    a value (``set(F.address.city, "Paris")``). Actions: set, remove, add, delete, append,
    prepend, set_default, condition, expect_version (see
    :class:`~dyntable.operations.update_actions.UpdateActions`).
    """

    def __init__(self, client: Client, target: M | type[M], key: Mapping[str, Any]) -> None:
        self._client = client
        self.spec = ops.UpdateSpec()
        client._check_model(target if isinstance(target, type) else type(target))
        if isinstance(target, type):
            self._model: type[M] = target
            self._codec = codec_for(target)
            self._key = dict(key)
        else:
            if key:
                raise InvalidRequestError("update(instance) takes no key fields")
            self._model = type(target)
            self._codec = codec_for(self._model)
            self._key = {f: getattr(target, f) for f in self._codec.spec.primary.fields}
            self.spec.known = dict(target.__dict__)
            vname = self._codec.spec.version_field
            if vname:
                self.spec.expected_version = int(getattr(target, vname))
        self._target = None if isinstance(target, type) else target

    def params(self) -> dict[str, Any]:
        """The UpdateItem request (compile only)."""
        return ops.update_request(self._codec, self._client.table_name, self._key,
                                  self.spec).params

    def request(self) -> ops.Request:
        """The compiled request with its context."""
        return ops.update_request(self._codec, self._client.table_name, self._key, self.spec)

    def execute(self) -> M:
        """Send the update; return the item as stored afterwards."""
        req = self.request()
        resp = self._client._run(req)
        obj: M = self._codec.decode(resp["Attributes"])
        if self._target is not None:
            for k, v in obj.__dict__.items():
                self._target.__dict__[k] = v
        return obj
