"""Run data migrations: a parallel scan over segments, resumable and safe beside live writes.

Each run scans the items of the migration's entities with ``Segment`` / ``TotalSegments``;
``threads`` segments are migrated at once, and ``segments`` picks the ones this process
takes, so several processes or machines can share one large table (``--total-segments 64
--segments 0-15`` on the first, ``16-31`` on the second...). After every page the segment's
``LastEvaluatedKey`` is checkpointed in the table (see :mod:`~dyntable.migrations.history`),
so a stopped run resumes where it stopped. Items are rewritten with conditional writes (see
:mod:`~dyntable.migrations.rewrite`); each write also adds the migration's id to the item's
``_mig`` set in the same request, which makes every item migrated exactly once, however
often a page is scanned again. ``rate_limit`` paces the scan's reads (all segments of this
process together) to a read-capacity budget
(:mod:`~dyntable._internal.operations.rate_limit`).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dyntable._internal.codec.identity import identity
from dyntable._internal.operations.flow import Request
from dyntable._internal.operations.pages import pages
from dyntable._internal.operations.rate_limit import RateLimiter, paced
from dyntable.errors import ConditionalCheckFailedError, ServiceError
from dyntable.expressions.compiler import Compiler
from dyntable.expressions.paths import attr
from dyntable.migrations.data import Migration, find_migration
from dyntable.migrations.errors import MigrationError
from dyntable.migrations.history import History, MigrationState, SegmentState
from dyntable.migrations.report import MigrationReport
from dyntable.migrations.rewrite import Direction, rewrite_item
from dyntable.migrations.segments import parse_segments

if TYPE_CHECKING:
    from dyntable.client import Client

__all__ = ["Migrator"]

AV = dict[str, Any]
Progress = Callable[[int], None]
DEFAULT_SEGMENTS = 16


@dataclass
class _Run:
    migration: Migration
    direction: Direction
    report: MigrationReport
    state: MigrationState | None
    total: int
    scan: dict[str, Any]
    stop: threading.Event = field(default_factory=threading.Event)


class Migrator:
    """Applies and reverts data migrations on ``client``'s table.

    Args:
        client: a client of the table (``--app``'s table connected to the live one).
        migrations: every known migration, in order (see
            :func:`~dyntable.migrations.data.load_migrations`).
        total_segments: parallel-scan segments of a new run (default 16); a run in
            progress keeps the number it started with.
        segments: the segments this process migrates, e.g. ``"0-15"`` (default: all).
        threads: segments migrated at once by this process.
        page_size: items read per Scan request (one checkpoint per page).
        lease_seconds: how long a segment stays claimed without a checkpoint.
        max_retries: conflicting writes re-read and retried per item before it fails.
        progress: called after each page with the number of items DynamoDB scanned
            (all entities; compare with :meth:`estimated_items`).
        sample_size: example changes kept in each report.
        rate_limit: read units per second the scan may consume, shared by every segment
            this process migrates (or a ``RateLimiter`` to share with other work); each
            page's Limit is capped to about one second of it (at most ``page_size``).
            The writes are not counted. Default: no limit.
        should_stop: asked before each segment is claimed and after each page is
            checkpointed; when it returns True the run stops there, keeping its checkpoints
            and releasing its leases (e.g. before a Lambda function's time runs out); the
            report is then not complete.
    """

    def __init__(
        self,
        client: Client,
        migrations: Sequence[Migration],
        *,
        total_segments: int | None = None,
        segments: str | None = None,
        threads: int = 8,
        page_size: int = 100,
        lease_seconds: float = 120.0,
        max_retries: int = 10,
        progress: Progress | None = None,
        sample_size: int = 5,
        rate_limit: float | RateLimiter | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        ids = [m.id for m in migrations]
        if len(set(ids)) != len(ids):
            raise MigrationError(f"migration ids must be unique: {ids}")
        if threads < 1 or page_size < 1 or lease_seconds <= 0 or max_retries < 0:
            raise MigrationError("threads, page_size and lease_seconds must be positive")
        self.client = client
        self.migrations = sorted(migrations, key=lambda m: m.id)
        self.total_segments = total_segments
        self.segments = segments
        self.threads = threads
        self.page_size = page_size
        self.lease_seconds = lease_seconds
        self.max_retries = max_retries
        self.progress = progress
        self.sample_size = sample_size
        self.rate_limiter = rate_limit if isinstance(rate_limit, RateLimiter) or \
            rate_limit is None else RateLimiter(rate_limit)
        self.should_stop = should_stop
        self.history = History(client)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # -- what is applied ------------------------------------------------------------------

    def status(self) -> list[tuple[Migration, MigrationState | None]]:
        """Each known migration with its recorded state (``None``: never run)."""
        states = self.history.states()
        return [(m, states.get(m.id)) for m in self.migrations]

    def _find(self, mid: str) -> Migration:
        return find_migration(self.migrations, mid)

    def up(self, target: str | None = None, *, dry_run: bool = False) -> list[MigrationReport]:
        """Apply every migration not applied yet, in order, up to ``target`` (inclusive).

        Stops after a migration that did not complete (e.g. segments held by other workers).
        """
        last = self._find(target).id if target else None
        reports = []
        states = self.history.states()
        for m in self.migrations:
            if last is not None and m.id > last:
                break
            st = states.get(m.id)
            if st is not None and st.status == "applied":
                continue
            report = self.run(m, "up", dry_run=dry_run)
            reports.append(report)
            if not (report.complete or dry_run):
                break
        return reports

    def down(self, target: str | None = None, *, dry_run: bool = False) -> MigrationReport:
        """Revert one migration: ``target``, or the latest one not reverted."""
        if target is not None:
            return self.run(self._find(target), "down", dry_run=dry_run)
        states = self.history.states()
        for m in reversed(self.migrations):
            st = states.get(m.id)
            if st is not None and st.status != "reverted":
                return self.run(m, "down", dry_run=dry_run)
        raise MigrationError("no applied migration to revert")

    def estimated_items(self) -> int:
        """DynamoDB's item count of the table (approximate; updated every few hours on AWS)."""
        desc = self.client.describe_table()
        return int(desc.get("ItemCount") or 0)

    # -- one run -----------------------------------------------------------------------------

    def run(self, migration: Migration, direction: Direction, *,
            dry_run: bool = False) -> MigrationReport:
        """Apply (``up``) or revert (``down``) one migration; a dry run writes nothing."""
        if direction == "down" and migration.down is None:
            raise MigrationError(f"migration {migration.id} has no down(); it cannot be reverted")
        report = MigrationReport(migration.id, direction, dry_run=dry_run,
                                 mark_writes=migration.mark_writes)
        state: MigrationState | None = None
        if dry_run:
            total = self.total_segments or DEFAULT_SEGMENTS
        else:
            state, done = self.history.begin(migration.id, direction, self.total_segments)
            total = state.total_segments
            if done:
                report.already_complete = report.complete = True
                return report
        report.total_segments = total
        report.segments = parse_segments(self.segments, total)
        run = _Run(migration, direction, report, state, total, self._scan_params(migration))
        self._run_segments(run)
        if state is not None:
            report.complete = self._finish(state)
        return report

    def _scan_params(self, migration: Migration) -> dict[str, Any]:
        compiler = Compiler()
        params: dict[str, Any] = {
            "TableName": self.client.table_name,
            "ConsistentRead": True,
            "Limit": self.page_size,
        }
        name = self.client.table.entity_attribute
        if name is not None:
            # Items without the attribute (written by another program) are matched by key
            # as they arrive (_selected).
            entity = attr(name)
            cond = entity.is_in(*migration.entities) | entity.not_exists()
            params["FilterExpression"] = compiler.condition(cond)
        params.update(compiler.params())
        return params

    def _run_segments(self, run: _Run) -> None:
        errors: list[BaseException] = []
        workers = max(1, min(self.threads, len(run.report.segments)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dyntable-mig") as pool:
            futures = [pool.submit(self._segment, run, s) for s in run.report.segments]
            try:
                for future in as_completed(futures):
                    exc = future.exception()
                    if exc is not None:
                        run.stop.set()
                        errors.append(exc)
            except BaseException:
                run.stop.set()
                raise
        if errors:
            raise errors[0]

    def _finish(self, state: MigrationState) -> bool:
        segments = {s.segment: s for s in self.history.segments(state)}
        complete = len(segments) == state.total_segments and all(
            s.done and not s.counts.get("failed") for s in segments.values()
        )
        if complete:
            self.history.finish(state)
        return complete

    # -- one segment ---------------------------------------------------------------------------

    def _claim(self, run: _Run, segment: int) -> SegmentState | None:
        if run.state is None:
            return SegmentState(segment)
        seg = self.history.claim(run.state, segment, self.owner, self.lease_seconds)
        if isinstance(seg, str):
            if seg != "done":
                run.report.held[segment] = seg
            return None
        return seg

    def _stopping(self, run: _Run) -> bool:
        if not run.stop.is_set() and self.should_stop is not None and self.should_stop():
            run.stop.set()
        return run.stop.is_set()

    def _segment(self, run: _Run, segment: int) -> None:
        if self._stopping(run):
            return
        seg = self._claim(run, segment)
        if seg is None:
            return
        params = dict(run.scan, Segment=segment, TotalSegments=run.total)
        scan = pages(Request("Scan", params), start=seg.last_key)
        if self.rate_limiter is not None:
            scan = paced(scan, self.rate_limiter)
        try:
            for page in self.client.iterate(scan):
                if run.stop.is_set():
                    return
                counts: Counter[str] = Counter()
                for item in page.items:
                    self._item(run, item, counts)
                if run.state is not None:
                    self.history.checkpoint(run.state, segment, self.owner,
                                            last_key=page.next, counts=counts,
                                            lease_seconds=self.lease_seconds)
                run.report.add(counts)
                if self.progress is not None:
                    self.progress(page.scanned)
                if self._stopping(run):
                    return
        finally:
            if run.state is not None:
                self.history.release(run.state, segment, self.owner)

    def _selected(self, run: _Run, item: dict[str, AV]) -> bool:
        """The item is one of the migration's entities (by attribute, else by key)."""
        model = identity(self.client.table).model_of(item)
        return model is not None and model.__dyntable__.entity in run.migration.entities

    def _item(self, run: _Run, item: dict[str, AV], counts: Counter[str]) -> None:
        if not self._selected(run, item):
            return
        counts["scanned"] += 1
        report = run.report
        for _attempt in range(self.max_retries + 1):
            rw = rewrite_item(run.migration, item, direction=run.direction,
                              table=self.client.table, table_name=self.client.table_name)
            if rw.status != "write":
                counts["already" if rw.status == "done" else "unchanged"] += 1
                return
            if run.state is not None:
                assert rw.params is not None
                try:
                    self.client.send("UpdateItem", rw.params)
                except ConditionalCheckFailedError as exc:
                    current = exc.item
                    if not current:
                        counts["vanished"] += 1
                        return
                    item = current
                    counts["retried"] += 1
                    continue
                except ServiceError as exc:
                    if exc.retryable:
                        raise
                    counts["failed"] += 1
                    report.error(f"item {rw.key}: {exc}")
                    return
            counts["changed"] += 1
            report.sample(rw.key, rw.changes, self.sample_size)
            return
        counts["failed"] += 1
        report.error(f"item {rw.key}: still conflicting after {self.max_retries} retries")
