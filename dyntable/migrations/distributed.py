"""A data migration fanned out by AWS Step Functions: the Lambda handlers of its state machine.

:mod:`dyntable.deploy.stepfunctions` writes the state machine: ``plan`` -> a Distributed
Map running :func:`handler` once per item (a range of scan segments), invoked again while
the item reports ``done: false`` -> ``status``. The work itself is the ordinary
:class:`~dyntable.migrations.runner.Migrator` on a segment range, so its per-segment
leases, checkpoints and exactly-once item markers hold here too.

Configuration comes from the event, else from the function's environment:

* ``app`` / ``DYNTABLE_APP``: the ``Table`` declaration as ``module:attribute``;
* ``migrations`` / ``DYNTABLE_MIGRATIONS``: the directory of migration files (default
  ``migrations``, relative to the function's code), or ``module:attribute`` naming a
  :class:`~dyntable.migrations.data.Migration` or a list of them;
* ``migration`` / ``DYNTABLE_MIGRATION``: the migration id (or its number);
* ``table_name`` / ``DYNTABLE_TABLE_NAME``: the physical table name;
* ``DYNTABLE_ENDPOINT_URL`` (environment only): a DynamoDB endpoint other than AWS's.

What the state machine passes (see each handler for the details)::

    plan   {"migration": "0003_backfill", "direction": "up", "total_segments": 64,
            "segments_per_worker": 4, "execution": "<execution name>", "threads": 4, ...}
      ->   {"migration": ..., "run": 1, "complete": false, "config": {...},
            "items": ["0-3", "4-7", ...]}
    worker {"config": {"migration": "0003_backfill", "direction": "up", "run": 1,
                       "total_segments": 64, "app": "myapp.models:table",
                       "migrations": "migrations", "table_name": "shop-prod",
                       "threads": 4, "page_size": 100, "lease_seconds": 120,
                       "stop_margin_seconds": 60},
            "segments": "4-7", "execution": "<execution name>"}
      ->   the same, plus "done", "passes", "segments_done", "segments_pending", "held",
           "resumed_from", "migrated", "counts", "failed_items", "errors",
           "stopped_early", "idle_passes", "stalled" (the next invocation's input)
    status the plan's output (+ "error" when the Map failed)
      ->   {"complete": true, "status": "applied", "segments_done": 64, "counts": {...}, ...}

Keys of ``config`` may also be given at the top level of a worker input (``segments`` may
also be a list of numbers), and ``owner`` names the lease owner (default
``<execution>:<segments>``, so a retried invocation takes its own leases back at once).
"""

from __future__ import annotations

import base64
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from dyntable.migrations.data import find_migration
from dyntable.migrations.errors import MigrationError
from dyntable.migrations.history import COUNTERS, History, MigrationState, SegmentState
from dyntable.migrations.segments import parse_segments

if TYPE_CHECKING:
    from dyntable.client import Client
    from dyntable.migrations.data import Migration

__all__ = [
    "DEFAULT_STOP_MARGIN",
    "LambdaContext",
    "WorkerInput",
    "handler",
    "map_items",
    "plan",
    "plan_items",
    "status",
]

#: Seconds before Lambda's time limit at which a worker checkpoints and returns.
DEFAULT_STOP_MARGIN = 60.0
#: Passes in a row without progress (segments held by another owner) before giving up.
DEFAULT_MAX_IDLE_PASSES = 30
_DIRECTIONS = ("up", "down")
_WORKER_OPTIONS = ("threads", "page_size", "lease_seconds", "stop_margin_seconds",
                   "max_idle_passes", "rate_limit")
_OVERRIDABLE = ("direction", "total_segments", "segments_per_worker", *_WORKER_OPTIONS)


class LambdaContext(Protocol):
    """The part of Lambda's context object the worker uses."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda stops the invocation."""
        ...


# -- configuration -----------------------------------------------------------------------------


def _setting(event: Mapping[str, Any], key: str, env: str, default: str | None = None) -> str:
    value = event.get(key)
    if value is None:
        value = os.environ.get(env, default)
    if not isinstance(value, str) or not value:
        raise MigrationError(f"distributed migration: give {key!r} in the input or set {env}"
                             if value is None else
                             f"distributed migration: {key!r} must be a string, not {value!r}")
    return value


def _number(event: Mapping[str, Any], key: str, default: float, *, minimum: float = 0,
            integer: bool = False) -> Any:
    value = event.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum or \
            (integer and not isinstance(value, int)):
        kind = "an integer" if integer else "a number"
        raise MigrationError(f"distributed migration: {key!r} must be {kind} >= {minimum}, "
                             f"not {value!r}")
    return value


def _direction(event: Mapping[str, Any]) -> str:
    direction = event.get("direction", "up")
    if direction not in _DIRECTIONS:
        raise MigrationError(f"distributed migration: 'direction' must be 'up' or 'down', "
                             f"not {direction!r}")
    return str(direction)


@dataclass(frozen=True)
class _Target:
    app: str
    migrations: str
    table_name: str | None
    endpoint_url: str | None

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> _Target:
        table_name = event.get("table_name") or os.environ.get("DYNTABLE_TABLE_NAME") or None
        return cls(_setting(event, "app", "DYNTABLE_APP"),
                   _setting(event, "migrations", "DYNTABLE_MIGRATIONS", "migrations"),
                   str(table_name) if table_name else None,
                   os.environ.get("DYNTABLE_ENDPOINT_URL") or None)


_cache: dict[_Target, tuple[Client, list[Migration]]] = {}
_cache_lock = threading.Lock()


def _load(target: _Target) -> tuple[Client, list[Migration]]:
    """The client and migrations of ``target``, made once per Lambda container."""
    with _cache_lock:
        if target not in _cache:
            from dyntable.client import Client
            from dyntable.migrations.app import load_app

            client = Client(load_app(target.app), endpoint_url=target.endpoint_url,
                            table_name=target.table_name)
            _cache[target] = (client, _migrations(target.migrations))
        return _cache[target]


def _migrations(spec: str) -> list[Migration]:
    """The migrations of a directory, or of ``module:attribute`` (one or a list)."""
    from dyntable.migrations.data import Migration, load_migrations

    if ":" not in spec:
        return load_migrations(spec)
    import importlib

    module_name, _, attr = spec.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise MigrationError(f"migrations {spec!r}: cannot import {module_name!r}: {exc}") \
            from exc
    for part in attr.split("."):
        value = getattr(value, part, None)
    found = [value] if isinstance(value, Migration) else \
        list(value) if isinstance(value, list | tuple) else []
    if not found or not all(isinstance(m, Migration) for m in found):
        raise MigrationError(f"migrations {spec!r} is not a Migration or a list of them")
    return found


# -- plan --------------------------------------------------------------------------------------


def plan_items(total_segments: int, segments_per_worker: int) -> list[str]:
    """The segment ranges of the workers: ``plan_items(10, 4) == ["0-3", "4-7", "8-9"]``."""
    parse_segments(None, total_segments)  # checks the total
    if not isinstance(segments_per_worker, int) or segments_per_worker < 1:
        raise MigrationError(f"segments per worker must be a positive integer, "
                             f"not {segments_per_worker!r}")
    ranges = []
    for first in range(0, total_segments, segments_per_worker):
        last = min(first + segments_per_worker, total_segments) - 1
        ranges.append(f"{first}-{last}" if last > first else str(first))
    return ranges


def plan(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """The state machine's first step: start (or resume) the run, list the Map's items.

    Input: ``migration``, ``direction`` (``up``), ``total_segments`` (16),
    ``segments_per_worker`` (4), ``execution`` (the execution's name: with a range it makes
    the lease owner), the worker options and the configuration keys of the module docs.
    ``input`` (the execution's input) may override ``direction``, ``total_segments``,
    ``segments_per_worker`` and the worker options; a run under way keeps its total.

    Output: ``migration``, ``direction``, ``run``, ``total_segments``, ``complete``,
    ``config`` (what every worker needs) and ``items``: the segment ranges (``"0-3"``;
    none when the migration is already applied, or reverted). The Map gives each worker
    ``{"config": ..., "segments": <range>, "execution": <name>}`` (see :func:`map_items`).
    """
    overrides = dict(event.get("input") or {})
    unknown = sorted(set(overrides) - set(_OVERRIDABLE))
    if unknown:
        raise MigrationError(f"distributed migration: the execution input may set "
                             f"{', '.join(_OVERRIDABLE)}; not {', '.join(unknown)}")
    merged = {**event, **overrides}
    target = _Target.of(merged)
    client, migrations = _load(target)
    migration = find_migration(migrations, _setting(merged, "migration", "DYNTABLE_MIGRATION"))
    direction = _direction(merged)
    if direction == "down" and migration.down is None:
        raise MigrationError(f"migration {migration.id} has no down(); it cannot be reverted")
    wanted = _number(merged, "total_segments", 16, minimum=1, integer=True)
    per_worker = _number(merged, "segments_per_worker", 4, minimum=1, integer=True)
    history = History(client)
    current = history.state(migration.id)
    if current is not None and current.direction == direction and not current.complete:
        wanted = current.total_segments  # a run under way keeps its segments
    state, complete = history.begin(migration.id, direction, wanted)
    config: dict[str, Any] = {
        "migration": migration.id, "direction": direction, "run": state.run,
        "total_segments": state.total_segments, "app": target.app,
        "migrations": target.migrations,
    }
    if target.table_name:
        config["table_name"] = target.table_name
    config.update({k: merged[k] for k in _WORKER_OPTIONS if merged.get(k) is not None})
    return {
        "migration": migration.id, "direction": direction, "run": state.run,
        "total_segments": state.total_segments, "complete": complete, "config": config,
        "items": [] if complete else plan_items(state.total_segments, per_worker),
    }


def map_items(plan_output: Mapping[str, Any], execution: str) -> list[dict[str, Any]]:
    """The worker inputs the Distributed Map makes of :func:`plan`'s output (its
    ``ItemSelector``), for running the workers without Step Functions (tests, scripts)."""
    return [{"config": plan_output["config"], "segments": r, "execution": execution}
            for r in plan_output["items"]]


def _flat(event: Mapping[str, Any]) -> dict[str, Any]:
    """A worker or status input with its ``config`` merged in (the item's keys win)."""
    config = event.get("config")
    out = dict(config) if isinstance(config, Mapping) else {}
    out.update((k, v) for k, v in event.items() if k != "config")
    return out


# -- worker -------------------------------------------------------------------------------------


class _Deadline:
    """Stops a run ``margin`` seconds before the invocation's time is up."""

    def __init__(self, context: object, margin: float) -> None:
        get = getattr(context, "get_remaining_time_in_millis", None)
        self._get: Callable[[], Any] | None = get if callable(get) else None
        # Never keep more than half the invocation in reserve, so a short timeout still works.
        self.margin = min(margin, self.remaining() / 2) if self._get else margin
        self.fired = False

    def remaining(self) -> float:
        """Seconds left (infinite without a Lambda context)."""
        return float(self._get()) / 1000.0 if self._get else float("inf")

    def __call__(self) -> bool:
        if not self.fired and self.remaining() < self.margin:
            self.fired = True
        return self.fired


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _ours(history: History, state: MigrationState, segments: list[int]) \
        -> dict[int, SegmentState]:
    wanted = set(segments)
    return {s.segment: s for s in history.segments(state) if s.segment in wanted}


@dataclass(frozen=True)
class WorkerInput:
    """A worker's input, checked (see the module docs for the JSON)."""

    target: _Target
    migration: str
    direction: str
    total_segments: int
    segments: str
    segment_numbers: list[int]
    owner: str
    threads: int
    page_size: int
    lease_seconds: float
    stop_margin_seconds: float
    rate_limit: float | None

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> WorkerInput:
        """Read and check a worker input; :class:`MigrationError` names a bad key."""
        flat = _flat(event)
        total = _number(flat, "total_segments", 0, minimum=1, integer=True)
        raw = flat.get("segments")
        if isinstance(raw, list) and raw:
            raw = ",".join(str(s) for s in raw)
        if not isinstance(raw, str) or not raw.strip():
            raise MigrationError("distributed migration: 'segments' must name the item's "
                                 f"segments (e.g. \"0-3\" or [0, 1]), not {raw!r}")
        numbers = parse_segments(raw, total)
        execution = flat.get("execution") or f"local-{uuid.uuid4().hex[:12]}"
        rate = flat.get("rate_limit")
        return cls(
            target=_Target.of(flat),
            migration=_setting(flat, "migration", "DYNTABLE_MIGRATION"),
            direction=_direction(flat),
            total_segments=total,
            segments=raw,
            segment_numbers=numbers,
            owner=str(flat.get("owner") or f"{execution}:{raw}"),
            threads=_number(flat, "threads", min(len(numbers), 8), minimum=1, integer=True),
            page_size=_number(flat, "page_size", 100, minimum=1, integer=True),
            lease_seconds=float(_number(flat, "lease_seconds", 120.0, minimum=1)),
            stop_margin_seconds=float(_number(flat, "stop_margin_seconds",
                                              DEFAULT_STOP_MARGIN)),
            rate_limit=None if rate is None else float(_number(flat, "rate_limit", 0,
                                                               minimum=0.001)),
        )


def handler(event: Mapping[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
    """Migrate one Distributed Map item (a segment range) until done or out of time.

    Claims each segment's lease (as ``owner``, so a retry of a crashed invocation takes its
    segments back at once), resumes from its checkpoint, and stops ``stop_margin_seconds``
    before Lambda's limit (at most half the time the invocation had), after the page under
    way is checkpointed. Returns the item with its progress: ``done`` is true when every
    segment of the range is done; otherwise the state machine invokes it again.
    """
    item = event
    event = _flat(event)
    spec = WorkerInput.of(item)
    client, migrations = _load(spec.target)
    migration = find_migration(migrations, spec.migration)
    direction = spec.direction
    segments = spec.segment_numbers
    deadline = _Deadline(context, spec.stop_margin_seconds)

    from dyntable.migrations.runner import Migrator

    migrator = Migrator(
        client, migrations, total_segments=spec.total_segments, segments=spec.segments,
        threads=spec.threads, page_size=spec.page_size, lease_seconds=spec.lease_seconds,
        rate_limit=spec.rate_limit, should_stop=deadline,
    )
    migrator.owner = spec.owner
    history = migrator.history

    state = history.state(migration.id)
    before = _ours(history, state, segments) if state is not None and \
        state.direction == direction and not state.complete else {}
    report = migrator.run(migration, "up" if direction == "up" else "down")
    state = history.state(migration.id)
    assert state is not None
    after = {} if report.already_complete else _ours(history, state, segments)

    done_segments = sorted(s for s, seg in after.items() if seg.done)
    pending = [] if report.already_complete else \
        [s for s in segments if s not in set(done_segments)]
    progressed = report.scanned > 0 or any(
        seg.done and not (before.get(s) and before[s].done) for s, seg in after.items())
    idle = 0 if progressed or not report.held else int(event.get("idle_passes") or 0) + 1
    previous = dict(event.get("counts") or {})
    counts = {n: int(previous.get(n, 0)) + int(getattr(report, n)) for n in COUNTERS}
    max_idle = _number(event, "max_idle_passes", DEFAULT_MAX_IDLE_PASSES, minimum=1,
                       integer=True)
    out = {k: v for k, v in item.items() if k not in _RESULT_KEYS}
    out.update(
        done=not pending,
        passes=int(event.get("passes", 0)) + 1,
        segments_done=done_segments,
        segments_pending=pending,
        held={str(s): why for s, why in sorted(report.held.items())},
        resumed_from={str(s): _jsonable(seg.last_key) for s, seg in sorted(before.items())
                      if seg.last_key is not None and not seg.done},
        migrated=counts["changed"],
        counts=counts,
        failed_items=counts["failed"],
        errors=report.errors[:5],
        stopped_early=deadline.fired,
        idle_passes=idle,
        stalled=bool(pending) and idle >= max_idle,
    )
    return out


_RESULT_KEYS = ("done", "passes", "segments_done", "segments_pending", "held", "resumed_from",
                "migrated", "counts", "failed_items", "errors", "stopped_early", "idle_passes",
                "stalled")


# -- status ------------------------------------------------------------------------------------


def status(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """The state machine's last step: the run's outcome, from the migration's own records.

    Input: the plan's output (the Map passes it on), with ``error`` when the Map failed
    (more failed items than tolerated).

    Output: ``migration``, ``direction``, ``run``, ``complete`` (every segment done, no
    failed item), ``status`` (``applied`` / ``reverted`` / ``incomplete``),
    ``total_segments``, ``segments_done`` (a count), ``segments_pending`` and
    ``segments_failed`` (segment numbers, the first 100), ``counts`` summed over the
    segments (``changed`` is the number of items migrated) and the Map's ``error``.
    A complete run is recorded as applied (or reverted) here if no worker did it.
    """
    plan_out = _flat(event)
    target = _Target.of(plan_out)
    client, migrations = _load(target)
    migration = find_migration(migrations, _setting(plan_out, "migration", "DYNTABLE_MIGRATION"))
    direction = _direction(plan_out)
    history = History(client)
    state = history.state(migration.id)
    if state is None:
        raise MigrationError(f"migration {migration.id} has no recorded run")
    segments = {s.segment: s for s in history.segments(state)}
    total = state.total_segments
    done = {s for s, seg in segments.items() if seg.done}
    failed = sorted(s for s, seg in segments.items() if seg.counts.get("failed"))
    pending = [s for s in range(total) if s not in done]
    complete = state.complete or (state.direction == direction and not pending and not failed)
    if complete and not state.complete:
        history.finish(state)
    counts = {n: sum(seg.counts.get(n, 0) for seg in segments.values()) for n in COUNTERS}
    out: dict[str, Any] = {
        "migration": migration.id, "direction": state.direction, "run": state.run,
        "complete": complete,
        "status": state.status if complete else "incomplete",
        "total_segments": total, "segments_done": len(done),
        "segments_pending": pending[:100], "segments_failed": failed[:100],
        "counts": counts,
    }
    if plan_out.get("run") not in (None, state.run):
        out["note"] = f"run {plan_out['run']} was planned; the latest run is {state.run}"
    if event.get("error"):
        out["error"] = _jsonable(event["error"])
    return out
