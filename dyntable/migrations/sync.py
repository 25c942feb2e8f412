"""Apply a schema diff to the live table, one step at a time.

Every step is one request (one GSI created or deleted per UpdateTable call); between steps
the table and every index must be ACTIVE and no index backfilling, which can take a long
time on a large table. Destructive steps need ``allow_destructive``; changes DynamoDB
cannot make (key schema, LSIs) stop the sync before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dyntable._internal.operations.flow import Flow, Sleep
from dyntable._internal.operations.retry import Deadline
from dyntable._internal.operations.tables import describe_flow
from dyntable.errors import DyntableError
from dyntable.migrations.diff import TableDiff, diff_live
from dyntable.migrations.errors import SchemaSyncError

if TYPE_CHECKING:
    from dyntable.client import Client

__all__ = ["check_applicable", "is_settled", "sync_table", "wait_settled"]

Echo = Callable[[str], None]


def is_settled(desc: Mapping[str, Any]) -> bool:
    """True when the table is ACTIVE and every GSI is ACTIVE and not backfilling."""
    if desc.get("TableStatus") != "ACTIVE":
        return False
    return all(g.get("IndexStatus") == "ACTIVE" and not g.get("Backfilling")
               for g in desc.get("GlobalSecondaryIndexes") or [])


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
        busy = [f"{g['IndexName']} {g.get('IndexStatus')}"
                + (" backfilling" if g.get("Backfilling") else "")
                for g in desc.get("GlobalSecondaryIndexes") or []
                if g.get("IndexStatus") != "ACTIVE" or g.get("Backfilling")]
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
               poll: float = 0.2, echo: Echo | None = None) -> TableDiff:
    """Bring ``client.table_name`` to ``client.table``'s declaration; return what was done.

    Creates the table when it does not exist. Each step waits for the table to settle.
    """
    diff = diff_live(client)
    check_applicable(diff, allow_destructive=allow_destructive)
    for change in diff.changes:
        if echo is not None:
            echo(f"applying {change}")
        if change.operation == "CreateTable":
            client.create_table(timeout=timeout)
            continue
        assert change.operation is not None
        wait_settled(client, timeout=timeout, poll=poll, echo=echo)
        client.send(change.operation, dict(change.params))
        wait_settled(client, timeout=timeout, poll=poll, echo=echo)
    return diff
