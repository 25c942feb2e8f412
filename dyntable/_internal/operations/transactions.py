"""Transactions: TransactWriteItems collected in a context manager, and TransactGetItems.

Guarantees:
    * All actions apply or none do; nothing is sent when the ``with`` block raises.
    * Limits are checked before sending (:class:`~dyntable.errors.TransactionLimitError`):
      at most 100 actions, 4 MB in all, one action per item.
    * One ``ClientRequestToken`` per transaction, reused by every retry, so a retry after an
      ambiguous failure (5xx, timeout) cannot apply the transaction twice (DynamoDB keeps a
      token for 10 minutes).
    * Retried (same token, at most ``max_retries`` times, exponential backoff): throttling,
      5xx, connection errors, and cancellations whose reasons are only TransactionConflict
      or throttling. Never retried: a failed condition (ConditionalCheckFailed).
    * Cancellations are decoded per action (action, model, key, current item); a failed
      version check raises :class:`TransactionVersionConflictError`, which is both a
      :class:`~dyntable.errors.VersionConflictError` and a
      :class:`~dyntable.errors.TransactionCanceledError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from dyntable._internal.codec.items import codec_for, entity_of
from dyntable._internal.codec.limits import attribute_size, item_size
from dyntable._internal.operations import items as ops
from dyntable._internal.operations import stamps, unique
from dyntable._internal.operations.batch_base import key_digest
from dyntable._internal.operations.batch_get import get_key
from dyntable._internal.operations.flow import Flow, Request, Sleep
from dyntable._internal.operations.retry import Backoff
from dyntable._internal.operations.send import send
from dyntable._internal.operations.targets import Target, resolve
from dyntable._internal.operations.update_actions import UpdateActions
from dyntable._internal.schema.remembered import remember
from dyntable.errors import (
    CancellationReason,
    DecodeError,
    DyntableError,
    InvalidRequestError,
    OutcomeUnknownError,
    ServiceError,
    TransactionCanceledError,
    TransactionLimitError,
    TransactionVersionConflictError,
    TransportError,
    UniqueValueError,
)
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition, all_of
from dyntable.schema.keys import ItemKey
from dyntable.ttl import item_expired

if TYPE_CHECKING:
    from dyntable._internal.codec.items import ItemCodec
    from dyntable.schema.model import Model
    from dyntable.schema.table import TableSchema

__all__ = [
    "MAX_ACTIONS",
    "MAX_BYTES",
    "TransactionBuilder",
    "TxUpdate",
    "commit_flow",
    "transact_get",
]

M = TypeVar("M", bound="Model")
AV = dict[str, Any]
MAX_ACTIONS = 100
MAX_BYTES = 4 * 1024 * 1024
Kind = Literal["Put", "Update", "Delete", "ConditionCheck"]
_RETRY_CODES = frozenset({"TransactionInProgressException"})




@dataclass
class _TxAction:
    kind: Kind
    model: type[Model]
    key: dict[str, AV]
    entry: dict[str, Any] | None = None
    update: TxUpdate[Any] | None = None
    expected_version: int | None = None
    version_checked: bool = False
    has_condition: bool = False
    target: Model | None = None
    new_version: int | None = None
    size: int = field(default=0)
    stamps: dict[str, Any] | None = None
    #: a unique-value guard item: (field, value)
    guard: tuple[str, Any] | None = None
    #: the Unique values a put stores (remembered on the object once committed)
    uniques: dict[str, Any] | None = None
    #: the physical table of the item
    table_name: str = ""


def _entry_size(body: Mapping[str, Any]) -> int:
    """Bytes an action adds to the transaction: item or key, values and expressions."""
    size = item_size(body["Item"]) if "Item" in body else item_size(body["Key"])
    for v in (body.get("ExpressionAttributeValues") or {}).values():
        size += attribute_size(v)
    for k in ("UpdateExpression", "ConditionExpression"):
        size += len(str(body.get(k, "")).encode("utf-8"))
    return size


def _as_entry(kind: Kind, req: ops.Request, return_items: bool) -> dict[str, Any]:
    body = dict(req.params)
    body.pop("ReturnValues", None)
    if not return_items or "ConditionExpression" not in body:
        body.pop("ReturnValuesOnConditionCheckFailure", None)
    else:
        body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {kind: body}


class TxUpdate(UpdateActions, Generic[M]):
    """Update actions for one item of a transaction (sent when the transaction commits).

    Same methods as the client's update builder, without ``execute``: the update is part of
    the transaction.
    """

    def __init__(self, item: Target[M]) -> None:
        self._codec = item.codec
        self._key = dict(item.fields)
        self.spec = ops.UpdateSpec(return_values="NONE")
        #: the stored Unique values (from the instance, or read by the caller), if known
        self.old_uniques: dict[str, Any] | None = None
        #: the condition guarding those values (set when the transaction compiles)
        self.unique_condition: Condition | None = None
        self.guards_added = False
        if item.instance is not None:
            self.spec.known = dict(item.instance.__dict__)
            self.spec.expected_version = item.version
            self.old_uniques = unique.stored_values(item.instance)

    def request(self, table_name: str) -> ops.Request:
        """The compiled UpdateItem request."""
        spec = self.spec
        if self.unique_condition is not None:
            spec = replace(spec, condition=all_of(spec.condition, self.unique_condition))
        return ops.update_request(self._codec, table_name, self._key, spec, receipt=False)


class TransactionBuilder:
    """Collects write actions for one TransactWriteItems (no I/O); the clients' transactions
    commit it when their block ends.

    Args:
        table / table_name: the table declaration and its physical name.
        also: other tables (declaration, physical name) whose models the transaction
            takes too (one TransactWriteItems spans them; same account and region).
        token: the ClientRequestToken (default: a new UUID per transaction).
        return_failed_items: ask DynamoDB for the current item of each failed condition.
        max_retries: retries of a conflicted, throttled or failed (5xx) commit.
        backoff: the retry backoff.

    On success, objects written with ``put`` get their new version (like ``db.put``);
    objects given to ``update`` are not refreshed (read them again).
    """

    def __init__(
        self,
        table: TableSchema,
        table_name: str,
        *,
        also: Sequence[tuple[TableSchema, str]] = (),
        token: str | None = None,
        return_failed_items: bool = True,
        max_retries: int = 3,
        backoff: Backoff | None = None,
    ) -> None:
        if token is not None and not (1 <= len(token) <= 36):
            raise InvalidRequestError("a ClientRequestToken is 1 to 36 characters")
        self._table = table
        self._table_name = table_name
        self._tables = _group(table, table_name, also)
        self.token = token or str(uuid.uuid4())
        self.return_failed_items = return_failed_items
        self.max_retries = max_retries
        self.backoff = backoff or Backoff()
        self.attempts = 0
        self._actions: list[_TxAction] = []
        self._digests: dict[bytes, _TxAction] = {}
        self._done = False

    # -- collecting --------------------------------------------------------------------

    def _route(self, model: Any) -> tuple[TableSchema, str]:
        """The table (declaration, physical name) of ``model`` among this transaction's."""
        return _route(self._tables, model)

    def _resolve(self, target: Any, key: Mapping[str, Any], what: str
                 ) -> tuple[Target[Any], str]:
        table, name = self._route(_model_of(target))
        return resolve(target, key, table, what=what), name

    def _add(self, action: _TxAction) -> None:
        if self._done:
            raise InvalidRequestError("this transaction was already committed")
        name = action.model.__name__
        if len(self._actions) >= MAX_ACTIONS:
            raise TransactionLimitError(
                f"transaction: adding {action.kind} {name} key={action.key} would make "
                f"{len(self._actions) + 1} actions; DynamoDB allows {MAX_ACTIONS}"
            )
        digest = key_digest({**action.key, "\0table": {"S": action.table_name}})
        other = self._digests.get(digest)
        if other is not None:
            raise TransactionLimitError(
                f"transaction: {action.kind} {name} key={action.key} targets the same item as "
                f"{other.kind} #{self._actions.index(other)}; DynamoDB allows one action per item"
            )
        self._digests[digest] = action
        self._actions.append(action)

    def put(self, obj: Model, *, condition: Condition | None = None,
            if_absent: bool = False) -> None:
        """Put ``obj`` (version checked and bumped when the model has one)."""
        if not ops.is_model(obj):
            raise InvalidRequestError(f"put() takes a model instance, not {type(obj).__name__}")
        _, table_name = self._route(type(obj))
        codec = codec_for(type(obj))
        given = condition
        new: dict[str, Any] | None = None
        changed: list[unique.Change] = []
        if codec.spec.unique_fields:
            old = unique.stored_values(obj)
            new = {n: obj.__dict__.get(n) for n in codec.spec.unique_fields}
            changed = unique.changes(codec, old, new)
            condition = all_of(condition, unique.item_condition(
                codec, old, new, [c[0] for c in changed]))
        req = ops.put_request(codec, table_name, obj, condition=condition,
                              if_absent=if_absent)
        entry = _as_entry("Put", req, self.return_failed_items)
        self._add(_TxAction("Put", type(obj), req.key, entry, None, req.expected_version,
                            req.version_checked, given is not None or if_absent, obj,
                            req.new_version, _entry_size(entry["Put"]), req.stamps,
                            uniques=new, table_name=table_name))
        self._add_guards(codec, type(obj), req.key, changed, table_name)

    def _add_guards(self, codec: ItemCodec[Any], model: type[Model], owner: dict[str, AV],
                    changed: list[unique.Change], table_name: str) -> None:
        """The guard items of the Unique values a write gives or drops."""
        for name, before, after in changed:
            if after is not None:
                entry = unique.guard_put(codec, table_name, name, after, owner)
                self._add(_TxAction("Put", model, unique.guard_key(codec, name, after), entry,
                                    size=_entry_size(entry["Put"]), guard=(name, after),
                                    table_name=table_name))
            if before is not None:
                entry = unique.guard_delete(codec, table_name, name, before)
                self._add(_TxAction("Delete", model, unique.guard_key(codec, name, before),
                                    entry, size=_entry_size(entry["Delete"]),
                                    guard=(name, before), table_name=table_name))

    def update(self, target: M | ItemKey[M] | type[M], **key: Any) -> TxUpdate[M]:
        """An update of one item, by instance (version checked), key, or model and key
        fields."""
        item, _ = self._resolve(target, key, "update()")
        builder: TxUpdate[M] = TxUpdate(item)
        self.add_update(item, builder)
        return builder

    def add_update(self, item: Target[Any], builder: TxUpdate[Any]) -> None:
        """Add an update built elsewhere (``db.update`` changing Unique fields)."""
        _, name = self._route(item.model)
        self._add(_TxAction("Update", item.model, item.key, update=builder, table_name=name))

    def delete(self, target: Model | ItemKey[Any] | type[Model], *,
               condition: Condition | None = None, **key: Any) -> None:
        """Delete by instance (version checked), key, or model and key fields."""
        item, _ = self._resolve(target, key, "delete()")
        old = None
        if item.codec.spec.unique_fields:
            old = unique.stored_values(item.instance) if item.instance is not None else None
            if old is None:
                raise InvalidRequestError(
                    f"{item.model.__name__} has Unique fields: delete an object read through "
                    "dyntable (its values name the guard items to delete), or use db.delete, "
                    "which reads them")
        self.delete_known(item, condition=condition, old_uniques=old)

    def delete_known(self, item: Target[Any], *, condition: Condition | None = None,
                     old_uniques: Mapping[str, Any] | None = None) -> None:
        """Delete ``item``; ``old_uniques``: its stored Unique values (their guards go)."""
        codec = item.codec
        _, table_name = self._route(item.model)
        changed: list[unique.Change] = []
        if old_uniques is not None:
            gone = {n: None for n in old_uniques}
            changed = unique.changes(codec, old_uniques, gone)
            condition = all_of(condition, unique.item_condition(
                codec, old_uniques, gone, [c[0] for c in changed]))
        req = ops.delete_request(codec, table_name, item.key, condition=condition,
                                 expected_version=item.version)
        entry = _as_entry("Delete", req, self.return_failed_items)
        self._add(_TxAction("Delete", item.model, item.key, entry, None, req.expected_version,
                            req.version_checked, condition is not None,
                            size=_entry_size(entry["Delete"]), table_name=table_name))
        self._add_guards(codec, item.model, item.key, changed, table_name)

    def check(self, target: Model | ItemKey[Any] | type[Model], *, condition: Condition,
              **key: Any) -> None:
        """Require ``condition`` to hold on an item that the transaction does not write."""
        if not isinstance(condition, Condition):
            raise InvalidRequestError("check() needs condition=, e.g. F.stock > 0")
        item, table_name = self._resolve(target, key, "check()")
        compiler = Compiler(item.codec)
        body: dict[str, Any] = {"TableName": table_name, "Key": item.key,
                                "ConditionExpression": compiler.condition(condition)}
        body.update(compiler.params())
        if self.return_failed_items:
            body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        self._add(_TxAction("ConditionCheck", item.model, item.key, {"ConditionCheck": body},
                            has_condition=True, size=_entry_size(body), table_name=table_name))

    # -- compiling and committing -----------------------------------------------------------

    def _compile_updates(self) -> None:
        for a in list(self._actions):
            if a.update is None:
                continue
            self._update_guards(a.update, a)
            req = a.update.request(a.table_name)
            a.entry = _as_entry("Update", req, self.return_failed_items)
            a.expected_version = req.expected_version
            a.version_checked = req.version_checked
            a.has_condition = a.update.spec.condition is not None
            a.size = _entry_size(a.entry["Update"])

    def _update_guards(self, update: TxUpdate[Any], action: _TxAction) -> None:
        """Guard items and condition of an update that changes Unique fields (once)."""
        if update.guards_added:
            return
        update.guards_added = True
        codec = update._codec
        new = unique.touched_uniques(codec, update.spec.actions)
        if not new:
            return
        old = update.old_uniques
        if old is None:
            raise InvalidRequestError(
                f"{codec.model.__name__}: changing Unique field(s) {sorted(new)} needs their "
                "stored values: update an object read through dyntable, or use db.update, "
                "which reads them")
        changed = unique.changes(codec, old, new)
        update.unique_condition = unique.item_condition(codec, old, new,
                                                        [c[0] for c in changed])
        self._add_guards(codec, action.model, action.key, changed, action.table_name)

    def params(self) -> dict[str, Any]:
        """The TransactWriteItems request (compile only); checks the 4 MB limit."""
        self._compile_updates()
        total = sum(a.size for a in self._actions)
        if total > MAX_BYTES:
            biggest = max(self._actions, key=lambda a: a.size)
            raise TransactionLimitError(
                f"transaction is {total} bytes; DynamoDB allows {MAX_BYTES} (4 MB). Largest "
                f"action: {biggest.kind} {biggest.model.__name__} key={biggest.key} "
                f"({biggest.size} bytes)"
            )
        items = [a.entry for a in self._actions]
        return {"TransactItems": items, "ClientRequestToken": self.token}

    def __len__(self) -> int:
        return len(self._actions)

    def commit_flow(self) -> Flow[None]:
        """Send the transaction (nothing is sent when it has no actions); on success set
        the new versions of the objects put."""
        if self._done:
            raise InvalidRequestError("this transaction was already committed")
        if not self._actions:
            self._done = True
            return
        params = self.params()
        self._done = True
        flow = commit_flow("TransactWriteItems", params, max_retries=self.max_retries,
                           backoff=self.backoff, attempts=self._count)
        try:
            yield from flow
        except TransactionCanceledError as exc:
            explained = _explain(exc, self._actions, self._table_name)
            taken = _taken_value(explained, self._actions)
            if taken is not None:
                raise taken from explained
            raise explained from None
        except (ServiceError, TransportError) as exc:
            if exc.maybe_applied:
                raise self._unknown(exc) from exc
            raise
        for a in self._actions:
            if a.kind == "Put" and a.target is not None:
                stamps.apply(a.target, a.stamps)
                if a.uniques is not None:
                    remember(a.target, uniques=dict(a.uniques))
                if a.new_version is not None:
                    a.target.__dict__[a.model.__dyntable__.version_field or ""] = a.new_version

    def _count(self) -> None:
        self.attempts += 1

    def _unknown(self, exc: DyntableError) -> OutcomeUnknownError:
        table = self._table_name
        return OutcomeUnknownError(
            f"TransactWriteItems on {table}: the transaction's outcome is unknown "
            f"({type(exc).__name__}: {exc}). It was applied entirely or not at all; "
            f"committing the same actions again with token={self.token!r} within 10 "
            "minutes is safe (DynamoDB applies one token at most once).",
            operation="TransactWriteItems", table=table,
        )


def commit_flow(
    operation: str,
    params: dict[str, Any],
    *,
    max_retries: int,
    backoff: Backoff,
    attempts: Callable[[], None] | None = None,
) -> Flow[dict[str, Any]]:
    """Send a transaction, retrying (same params, so same token) what may succeed later.

    A cancellation is definitive: with the same token, DynamoDB answers a retry of a
    transaction that was applied with success. Any other error finally raised has
    ``maybe_applied`` set when some attempt may have applied the transaction.
    """
    retry = 0
    ambiguous = False
    while True:
        if attempts is not None:
            attempts()
        try:
            response: dict[str, Any] = yield from send(Request(operation, params))
            return response
        except TransactionCanceledError as exc:
            if not exc.retryable_conflict or retry >= max_retries:
                raise
        except DyntableError as exc:
            ambiguous = ambiguous or bool(getattr(exc, "maybe_applied", False))
            code = getattr(exc, "code", "")
            if not (exc.retryable or code in _RETRY_CODES) or retry >= max_retries:
                if ambiguous and isinstance(exc, (ServiceError, TransportError)):
                    exc.maybe_applied = True
                raise
        yield Sleep(backoff.delay(retry))
        retry += 1


def _current(model: type[Model], item: Mapping[str, Any] | None) -> Model | None:
    if not item:
        return None
    codec = codec_for(model)
    if not codec.owns(item):
        return None
    try:
        return codec.decode(item)
    except DecodeError:
        return None


def tables_of(clients: Iterable[Any]) -> list[tuple[TableSchema, str]]:
    """(declaration, physical name) of each client's table: a transaction's ``also``."""
    return [(c.table, c.table_name) for c in clients]


def _group(table: TableSchema, table_name: str, also: Sequence[tuple[TableSchema, str]]
           ) -> dict[int, tuple[TableSchema, str]]:
    group = {id(table): (table, table_name)}
    for t, name in also:
        if id(t) in group and group[id(t)][1] != name:
            raise InvalidRequestError(
                f"table {t.name!r} is given twice, as {group[id(t)][1]!r} and {name!r}")
        group[id(t)] = (t, name)
    return group


def _model_of(target: Any) -> Any:
    if isinstance(target, ItemKey):
        return target.model
    return target if isinstance(target, type) else type(target)


def _route(tables: Mapping[int, tuple[TableSchema, str]], model: Any
           ) -> tuple[TableSchema, str]:
    """The table of ``model`` among ``tables`` (InvalidRequestError when it is none of them)."""
    spec = getattr(model, "__dyntable__", None)
    if spec is not None and id(spec.table) in tables:
        return tables[id(spec.table)]
    if spec is None or len(tables) == 1:
        ops.require_table(model, next(iter(tables.values()))[0])  # raises, naming the table
        raise AssertionError("require_table accepted a model of another table")
    names = sorted(t.name for t, _ in tables.values())
    raise InvalidRequestError(
        f"{model.__name__} is declared on table {spec.table.name!r}; this transaction spans "
        f"{names}: add a client of {spec.table.name!r} (also=[...])")


def _taken_value(exc: TransactionCanceledError, actions: list[_TxAction]
                 ) -> UniqueValueError | None:
    """A UniqueValueError when a guard put failed: another item holds the value."""
    for r in exc.reasons:
        a = actions[r.index] if r.index < len(actions) else None
        if a is None or a.guard is None or a.kind != "Put" or \
                r.code != "ConditionalCheckFailed":
            continue
        name, value = a.guard
        owner = (r.item or {}).get("owner", {}).get("M")
        return UniqueValueError(
            f"{a.model.__name__}.{name} = {value!r} is taken by another item (key {owner}); "
            "Unique values are one per item", model=a.model.__name__, field=name,
            value=value, owner=owner)
    return None


def _is_version_failure(a: _TxAction, reason: CancellationReason) -> bool:
    if reason.code != "ConditionalCheckFailed" or not a.version_checked:
        return False
    vname = a.model.__dyntable__.version_field
    if reason.item is None or vname is None:
        return True
    stored = reason.item.get(vname)
    stored_version = int(stored["N"]) if stored and "N" in stored else 0
    return stored_version != (a.expected_version or 0)


def _explain(exc: TransactionCanceledError, actions: list[_TxAction], table: str
             ) -> TransactionCanceledError:
    """Fill action, model, key and current item into each reason; flag version conflicts."""
    entity_attr = codec_for(actions[0].model).entity_attr
    reasons: list[CancellationReason] = []
    conflicts: list[CancellationReason] = []
    for r in exc.reasons:
        a = actions[r.index] if r.index < len(actions) else None
        if a is None:
            reasons.append(r)
            continue
        message = r.message
        stored_entity = entity_of(r.item, entity_attr) if r.item else None
        mine = a.model.__dyntable__.entity
        if r.code == "ConditionalCheckFailed" and stored_entity not in (None, mine):
            message = (f"the key holds an item of entity {stored_entity!r}, not {mine!r}; "
                       "dyntable does not overwrite or delete another entity's item")
        full = CancellationReason(
            r.index, r.code, message, a.kind, a.model.__name__, a.key, r.item,
            _current(a.model, r.item),
        )
        reasons.append(full)
        if _is_version_failure(a, full):
            conflicts.append(full)
    if not conflicts:
        exc.set_reasons(reasons)
        return exc
    first = conflicts[0]
    expected = actions[first.index].expected_version
    err = TransactionVersionConflictError(
        f"version conflict in transaction: {first.action} {first.model} expected version "
        f"{expected}", expected=expected, code=exc.code, operation=exc.operation, table=table,
        key=first.key, status=exc.status, response=exc.response,
    )
    err.conflicts = conflicts
    err.set_reasons(reasons)
    return err


def transact_get(
    table: TableSchema,
    table_name: str,
    keys: Iterable[Any],
    *,
    max_retries: int = 3,
    backoff: Backoff | None = None,
    hide_expired: bool = False,
    also: Sequence[tuple[TableSchema, str]] = (),
) -> Flow[list[Model | None]]:
    """Read up to 100 items in one isolated snapshot (TransactGetItems).

    ``keys`` are model instances or keys (``Customer.primary(username="ada")``), of
    ``table`` or of the ``also`` tables; the result has one entry per key, in order
    (``None``: no item). Repeated keys are read once.
    """
    tables = _group(table, table_name, also)
    routed = []
    for k in keys:
        t, name = _route(tables, _model_of(k))
        routed.append((get_key(k, t), name))
    wanted = [k for k, _ in routed]
    names = {id(k): name for k, name in routed}
    distinct = list({k.digest + names[id(k)].encode(): k for k in wanted}.values())
    if len(distinct) > MAX_ACTIONS:
        raise TransactionLimitError(
            f"transact_get takes at most {MAX_ACTIONS} distinct keys, got {len(distinct)}"
        )
    if not distinct:
        return []
    params = {"TransactItems": [{"Get": {"TableName": names[id(k)], "Key": k.key}}
                                for k in distinct]}
    response = yield from commit_flow("TransactGetItems", params, max_retries=max_retries,
                                      backoff=backoff or Backoff())
    found: dict[bytes, Model | None] = {}
    for k, r in zip(distinct, response.get("Responses") or [], strict=False):
        item = r.get("Item")
        codec = codec_for(k.model)
        obj = codec.decode(item) if item and codec.owns(item) else None
        found[k.digest + names[id(k)].encode()] = \
            None if obj is not None and hide_expired and item_expired(obj) else obj
    return [found.get(k.digest + names[id(k)].encode()) for k in wanted]
