"""Migration state kept in the table itself, in reserved items.

Every reserved item lives in the partition ``_dyntable#migrations`` (tables without a sort
key: partition ``_dyntable#migrations#<name>``) and has the entity attribute (``_entity``
on a table declared without one) ``_dyntable_migration``, which no model uses, and a key
no model's templates fit, so it never decodes as a model item:

* ``<id>``: the migration's state: direction, status, run number, total segments;
* ``<id>#run0003#seg0000042``: one scan segment of run 3: its checkpoint (the segment's
  ``LastEvaluatedKey``), counters, whether it is done, and its lease (``owner`` +
  ``lease_until``). A worker works on a segment only while it holds the lease, which it
  takes and renews with conditional writes, so two runs never migrate one segment at once
  and a stopped worker's segments are taken over after the lease expires.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dyntable._internal.codec.values import from_av, to_av
from dyntable._internal.operations.flow import Request
from dyntable._internal.operations.pages import pages
from dyntable.errors import ConditionalCheckFailedError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.conditions import Condition
from dyntable.expressions.paths import attr, if_not_exists
from dyntable.expressions.updates import Action
from dyntable.migrations.errors import LockHeldError, MigrationError

if TYPE_CHECKING:
    from dyntable.client import Client

__all__ = ["COUNTERS", "ENTITY", "PARTITION", "History", "MigrationState", "SegmentState"]

PARTITION = "_dyntable#migrations"
ENTITY = "_dyntable_migration"
#: Per-segment counters (summed over every pass of the segment).
COUNTERS = ("scanned", "changed", "unchanged", "already", "failed", "retried", "vanished")
AV = dict[str, Any]


@dataclass
class MigrationState:
    """The recorded state of one migration.

    ``status``: ``applying`` / ``reverting`` while a run is under way (or incomplete),
    ``applied`` / ``reverted`` when done.
    """

    id: str
    direction: str
    status: str
    run: int
    total_segments: int
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def complete(self) -> bool:
        """True when the last run finished."""
        return self.status in ("applied", "reverted")


@dataclass
class SegmentState:
    """A segment's checkpoint, counters and lease."""

    segment: int
    done: bool = False
    last_key: dict[str, AV] | None = None
    owner: str | None = None
    lease_until: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def _plain(item: Mapping[str, AV]) -> dict[str, Any]:
    return {k: from_av(v) for k, v in item.items()}


class History:
    """Reads and writes the reserved migration items of ``client``'s table."""

    def __init__(self, client: Client) -> None:
        table = client.table
        for a in (table.pk, table.sk):
            if a and table.attribute_type(a) != "S":
                raise MigrationError(
                    f"table {table.name!r}: migration state needs string key attributes; "
                    f"{a!r} is {table.attribute_type(a)}"
                )
        self.client = client
        self.table = table
        #: the attribute marking reserved items
        self.marker = table.entity_attribute or "_entity"

    # -- keys and raw requests -------------------------------------------------------------

    def key(self, name: str) -> dict[str, AV]:
        """The key of reserved item ``name``."""
        if self.table.sk:
            return {self.table.pk: {"S": PARTITION}, self.table.sk: {"S": name}}
        return {self.table.pk: {"S": f"{PARTITION}#{name}"}}

    def _name_of(self, item: Mapping[str, AV]) -> str:
        if self.table.sk:
            return str(item[self.table.sk]["S"])
        return str(item[self.table.pk]["S"])[len(PARTITION) + 1:]

    def _update(self, name: str, actions: list[Action], condition: Condition | None,
                returns: str = "NONE") -> dict[str, Any]:
        compiler = Compiler()
        params: dict[str, Any] = {
            "TableName": self.client.table_name,
            "Key": self.key(name),
            "UpdateExpression": compiler.update(actions),
            "ReturnValues": returns,
        }
        if condition is not None:
            params["ConditionExpression"] = compiler.condition(condition)
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        params.update(compiler.params())
        return self.client.send("UpdateItem", params)

    def _items(self, prefix: str) -> Iterator[dict[str, AV]]:
        compiler = Compiler()
        if self.table.sk:
            cond: Condition = attr(self.table.pk) == PARTITION
            if prefix:
                cond = cond & attr(self.table.sk).begins_with(prefix)
            params: dict[str, Any] = {"KeyConditionExpression": compiler.key_condition(cond)}
            operation = "Query"
        else:
            cond = (attr(self.marker) == ENTITY) & \
                attr(self.table.pk).begins_with(f"{PARTITION}#{prefix}")
            params = {"FilterExpression": compiler.condition(cond)}
            operation = "Scan"
        params.update(TableName=self.client.table_name, ConsistentRead=True, **compiler.params())
        for page in self.client.iterate(pages(Request(operation, params))):
            yield from page.items

    # -- migration states ------------------------------------------------------------------

    def state(self, mid: str) -> MigrationState | None:
        """The recorded state of migration ``mid`` (``None``: never run)."""
        resp = self.client.send("GetItem", {"TableName": self.client.table_name,
                                            "Key": self.key(mid), "ConsistentRead": True})
        item = resp.get("Item")
        return _state(item) if item else None

    def states(self) -> dict[str, MigrationState]:
        """Every recorded migration state by id."""
        out: dict[str, MigrationState] = {}
        for item in self._items(""):
            name = self._name_of(item)
            if "#" not in name:
                out[name] = _state(item)
        return out

    def begin(self, mid: str, direction: str, total_segments: int | None) \
            -> tuple[MigrationState, bool]:
        """Start or resume a run of ``mid`` in ``direction``; ``(state, already_complete)``."""
        target = "applied" if direction == "up" else "reverted"
        for _attempt in range(10):
            st = self.state(mid)
            if st is None and direction == "down":
                raise MigrationError(f"migration {mid} was never applied; nothing to revert")
            if st is not None and st.status == target:
                return st, True
            if st is not None and st.direction == direction:
                if total_segments is not None and total_segments != st.total_segments:
                    raise MigrationError(
                        f"migration {mid}: run {st.run} is under way with "
                        f"{st.total_segments} segments; resume it with --total-segments "
                        f"{st.total_segments}"
                    )
                return st, False
            if st is not None:
                self._check_idle(st)
            new = MigrationState(mid, direction, "applying" if direction == "up" else "reverting",
                                 (st.run + 1) if st else 1, total_segments or 16, time.time())
            if self._put_state(new, None if st is None else st.run):
                return new, False
        raise MigrationError(f"migration {mid}: could not start a run (state keeps changing)")

    def _put_state(self, st: MigrationState, previous_run: int | None) -> bool:
        values: dict[str, Any] = {
            "direction": st.direction, "status": st.status, "run": st.run,
            "total_segments": st.total_segments, "started_at": st.started_at,
            self.marker: ENTITY, "migration": st.id,
        }
        actions = [Action("SET", attr(k), to_av(v)) for k, v in values.items()]
        actions.append(Action("REMOVE", attr("finished_at")))
        cond = attr(self.table.pk).not_exists() if previous_run is None \
            else attr("run") == previous_run
        try:
            self._update(st.id, actions, cond)
        except ConditionalCheckFailedError:
            return False
        return True

    def _check_idle(self, st: MigrationState) -> None:
        now = time.time()
        for seg in self.segments(st):
            if seg.owner and seg.lease_until > now and not seg.done:
                raise LockHeldError(
                    f"migration {st.id}: run {st.run} ({st.direction}) is still being worked "
                    f"on: segment {seg.segment} is leased by {seg.owner} for another "
                    f"{seg.lease_until - now:.0f}s; wait for it to finish or expire"
                )

    def finish(self, st: MigrationState) -> None:
        """Record that run ``st.run`` completed."""
        status = "applied" if st.direction == "up" else "reverted"
        actions = [Action("SET", attr("status"), {"S": status}),
                   Action("SET", attr("finished_at"), to_av(time.time()))]
        try:
            self._update(st.id, actions, attr("run") == st.run)
        except ConditionalCheckFailedError:
            raise MigrationError(f"migration {st.id}: another run started meanwhile") from None
        st.status = status

    # -- segments ------------------------------------------------------------------------------

    def _segment_name(self, st: MigrationState, segment: int) -> str:
        return f"{st.id}#run{st.run:04d}#seg{segment:07d}"

    def segments(self, st: MigrationState) -> list[SegmentState]:
        """The segment records of the run ``st`` (segments never started have none)."""
        return [_segment(item) for item in self._items(f"{st.id}#run{st.run:04d}#")]

    def claim(self, st: MigrationState, segment: int, owner: str, lease_seconds: float) \
            -> SegmentState | str:
        """Take the lease of a segment: its state, or why not (``"done"`` / a holder)."""
        now = time.time()
        a = attr
        actions = [
            Action("SET", a("owner"), {"S": owner}),
            Action("SET", a("lease_until"), to_av(now + lease_seconds)),
            Action("SET", a("done"), if_not_exists(a("done"), False)),
            Action("SET", a(self.marker), {"S": ENTITY}),
            Action("SET", a("segment"), to_av(segment)),
        ]
        free = a("owner").not_exists() | (a("lease_until") < now) | (a("owner") == owner)
        open_ = (a("done") == False) | (a("failed") > 0)  # noqa: E712 - a condition node
        cond = a(self.table.pk).not_exists() | (open_ & free)
        try:
            resp = self._update(self._segment_name(st, segment), actions, cond, "ALL_NEW")
        except ConditionalCheckFailedError as exc:
            seg = _segment(exc.item or {})
            if seg.done:
                return "done"
            return f"leased by {seg.owner} for {max(seg.lease_until - now, 0):.0f}s"
        seg = _segment(resp.get("Attributes") or {})
        if seg.done:  # a finished segment with failed items: scan it again
            self._update(self._segment_name(st, segment), [
                Action("SET", a("done"), {"BOOL": False}),
                Action("SET", a("failed"), {"N": "0"}),
                Action("REMOVE", a("last_key")),
            ], a("owner") == owner)
            seg.done, seg.last_key = False, None
        return seg

    def checkpoint(self, st: MigrationState, segment: int, owner: str, *,
                   last_key: dict[str, AV] | None, counts: Mapping[str, int],
                   lease_seconds: float) -> None:
        """Record progress: the segment's position, counter deltas; renews the lease."""
        a = attr
        actions = [Action("SET", a("lease_until"), to_av(time.time() + lease_seconds)),
                   Action("SET", a("done"), {"BOOL": last_key is None})]
        if last_key is None:
            actions.append(Action("REMOVE", a("last_key")))
        else:
            actions.append(Action("SET", a("last_key"), {"M": last_key}))
        actions += [Action("ADD", a(n), v) for n, v in counts.items() if v]
        try:
            self._update(self._segment_name(st, segment), actions, a("owner") == owner)
        except ConditionalCheckFailedError:
            raise LockHeldError(
                f"migration {st.id}: lost the lease of segment {segment} (another worker took "
                "it over after it expired; raise --lease-seconds)"
            ) from None

    def release(self, st: MigrationState, segment: int, owner: str) -> None:
        """Give the lease of a segment back (no-op when another worker holds it)."""
        actions = [Action("REMOVE", attr("owner")), Action("REMOVE", attr("lease_until"))]
        with contextlib.suppress(ConditionalCheckFailedError):
            self._update(self._segment_name(st, segment), actions, attr("owner") == owner)


def _state(item: Mapping[str, AV]) -> MigrationState:
    v = _plain(item)
    return MigrationState(
        id=str(v.get("migration", "")),
        direction=str(v.get("direction", "up")),
        status=str(v.get("status", "")),
        run=int(v.get("run", 0)),
        total_segments=int(v.get("total_segments", 0)),
        started_at=float(v["started_at"]) if v.get("started_at") is not None else None,
        finished_at=float(v["finished_at"]) if v.get("finished_at") is not None else None,
    )


def _segment(item: Mapping[str, AV]) -> SegmentState:
    v = _plain({k: x for k, x in item.items() if k != "last_key"})
    last = item.get("last_key")
    return SegmentState(
        segment=int(v.get("segment", -1)),
        done=bool(v.get("done", False)),
        last_key=dict(last["M"]) if isinstance(last, Mapping) and "M" in last else None,
        owner=v.get("owner"),
        lease_until=float(v.get("lease_until") or 0),
        counts={n: int(v.get(n) or 0) for n in COUNTERS},
    )
