"""Apply a schema diff to the live table, one step at a time.

Every step is one request (one GSI created or deleted, one replica added or removed per
UpdateTable call); between steps the table, every index and every replica must be ACTIVE
and no index backfilling, which can take a long time on a large table. Destructive steps
need ``allow_destructive``; changes DynamoDB cannot make (key schema, LSIs) stop the sync
before anything is sent. A replica's own settings (point-in-time recovery, tags, deletion
protection) are sent in its region; those of a replica added by this sync are read and
applied in a second pass, once it is ACTIVE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dyntable._internal.operations.flow import Flow, Sleep
from dyntable._internal.operations.retry import Deadline
from dyntable._internal.operations.tables import describe_flow
from dyntable.errors import DyntableError
from dyntable.migrations.diff import (
    Change,
    ConnectRegion,
    TableDiff,
    diff_live,
    regional_client,
)
from dyntable.migrations.errors import SchemaSyncError

if TYPE_CHECKING:
    from dyntable.client import Client

__all__ = ["check_applicable", "is_settled", "sync_table", "wait_settled"]

Echo = Callable[[str], None]


_REPLICA_FAILED = ("CREATION_FAILED", "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
                   "REPLICATION_NOT_AUTHORIZED", "REGION_DISABLED")


def is_settled(desc: Mapping[str, Any]) -> bool:
    """True when the table is ACTIVE, every GSI is ACTIVE and not backfilling, and every
    replica is ACTIVE."""
    if desc.get("TableStatus") != "ACTIVE":
        return False
    return all(g.get("IndexStatus") == "ACTIVE" and not g.get("Backfilling")
               for g in desc.get("GlobalSecondaryIndexes") or []) and \
        all(r.get("ReplicaStatus") == "ACTIVE" for r in desc.get("Replicas") or [])


def _busy(desc: Mapping[str, Any]) -> list[str]:
    busy = [f"{g['IndexName']} {g.get('IndexStatus')}"
            + (" backfilling" if g.get("Backfilling") else "")
            for g in desc.get("GlobalSecondaryIndexes") or []
            if g.get("IndexStatus") != "ACTIVE" or g.get("Backfilling")]
    busy += [f"replica {r.get('RegionName')} {r.get('ReplicaStatus')}"
             + (f" {r['ReplicaStatusPercentProgress']}%"
                if r.get("ReplicaStatusPercentProgress") else "")
             for r in desc.get("Replicas") or [] if r.get("ReplicaStatus") != "ACTIVE"]
    return busy


def wait_settled(client: Client, *, timeout: float = 3600.0, poll: float = 0.2,
                 echo: Echo | None = None) -> dict[str, Any]:
    """Poll DescribeTable until :func:`is_settled`; SchemaSyncError after ``timeout``."""
    return client.run(settled_flow(client.table_name, timeout=timeout, poll=poll, echo=echo))


def settled_flow(table_name: str, *, timeout: float = 3600.0, poll: float = 0.2,
                 echo: Echo | None = None) -> Flow[dict[str, Any]]:
    """The waiter of :func:`wait_settled`, as a flow."""
    deadline = Deadline(timeout)
    delay = poll
    reported = ""
    while True:
        try:
            desc = yield from describe_flow(table_name)
        except DyntableError as exc:  # e.g. DynamoDB Local failing while an index is dropped
            if not exc.retryable or deadline.expired:
                raise
            yield Sleep(delay)
            continue
        if is_settled(desc):
            return desc
        failed = [f"{r.get('RegionName')} {r.get('ReplicaStatus')}"
                  for r in desc.get("Replicas") or [] if r.get("ReplicaStatus") in _REPLICA_FAILED]
        if failed:
            raise SchemaSyncError(f"table {table_name}: replica {', '.join(failed)}; fix it "
                                  "(or remove the replica) and run sync again")
        busy = _busy(desc)
        state = f"waiting: table {desc.get('TableStatus')}" + (f", {', '.join(busy)}"
                                                                 if busy else "")
        if echo is not None and state != reported:
            echo(f"  {state}")
            reported = state
        if deadline.expired:
            raise SchemaSyncError(f"table {table_name} still busy after {timeout:.0f}s "
                                  f"({state}); run sync again later to continue")
        yield Sleep(delay)
        delay = min(delay * 1.5, 10.0)


def check_applicable(diff: TableDiff, *, allow_destructive: bool) -> None:
    """Raise SchemaSyncError when the diff holds unsupported or unallowed destructive steps."""
    if diff.unsupported:
        raise SchemaSyncError(
            f"table {diff.table_name}: cannot apply: "
            + "; ".join(c.detail for c in diff.unsupported)
        )
    if diff.destructive and not allow_destructive:
        raise SchemaSyncError(
            f"table {diff.table_name}: destructive steps need --allow-destructive: "
            + "; ".join(c.detail for c in diff.destructive)
        )


def sync_table(client: Client, *, allow_destructive: bool = False, timeout: float = 3600.0,
               poll: float = 0.2, echo: Echo | None = None,
               connect_region: ConnectRegion | None = None) -> TableDiff:
    """Bring ``client.table_name`` to ``client.table``'s declaration; return what was done.

    Creates the table when it does not exist. Each step waits for the table to settle.
    Steps for a replica's own region go through ``connect_region(region)`` (default: a
    client with the default transport in that region).
    """
    diff = diff_live(client, connect_region=connect_region)
    check_applicable(diff, allow_destructive=allow_destructive)
    made: dict[str, Client] = {}

    def regional(region: str) -> Client:
        if region not in made:
            made[region] = connect_region(region) if connect_region else \
                regional_client(client, region)
        return made[region]

    try:
        _apply(client, diff.changes, regional, timeout=timeout, poll=poll, echo=echo)
        created = any(c.operation == "CreateTable" for c in diff.changes)
        if diff.adds_replicas or (created and client.table.replicas):
            more = diff_live(client, connect_region=connect_region)
            check_applicable(more, allow_destructive=allow_destructive)
            _apply(client, more.changes, regional, timeout=timeout, poll=poll, echo=echo)
            diff = TableDiff(diff.table_name, [*diff.changes, *more.changes],
                             list(dict.fromkeys([*diff.notes, *more.notes])))
    finally:
        if connect_region is None:
            for made_client in made.values():
                made_client.close()
    return diff


def _apply(client: Client, changes: list[Change], regional: Callable[[str], Client], *,
           timeout: float, poll: float, echo: Echo | None) -> None:
    for change in changes:
        if echo is not None:
            echo(f"applying {change}")
        if change.operation == "CreateTable":
            client.create_table(timeout=timeout)
            continue
        assert change.operation is not None
        wait_settled(client, timeout=timeout, poll=poll, echo=echo)
        target = client if change.region is None else regional(change.region)
        target.send(change.operation, dict(change.params))
        wait_settled(client, timeout=timeout, poll=poll, echo=echo)
