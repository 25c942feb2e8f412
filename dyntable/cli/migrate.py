"""``dyntable migrate new | status | up | down``: versioned data migrations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dyntable.cli.table import connect, connection_options

if TYPE_CHECKING:
    from dyntable.migrations.runner import Migrator

__all__ = ["migrate"]

C = TypeVar("C", bound=Callable[..., Any])

_dir = click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
                    default=Path("migrations"), show_default=True,
                    help="Directory of the migration files.")


def _run_options(f: C) -> C:
    options = [
        click.option("--dry-run", is_flag=True,
                     help="Show what would change (counts, samples); write nothing."),
        click.option("--total-segments", type=int, default=None,
                     help="Parallel-scan segments of a new run (default 16); every worker "
                          "of one run must use the same number."),
        click.option("--segments", default=None,
                     help="Segments this worker migrates, e.g. 0-15 (default: all)."),
        click.option("--threads", type=int, default=8, show_default=True,
                     help="Segments migrated at once by this process."),
        click.option("--page-size", type=int, default=100, show_default=True,
                     help="Items per Scan request (one checkpoint per page)."),
        click.option("--lease-seconds", type=float, default=120.0, show_default=True,
                     help="How long a stopped worker keeps its segments."),
        click.option("--rate-limit", type=click.FloatRange(min=0, min_open=True),
                     default=None,
                     help="Read units per second the scan may consume (all segments of "
                          "this process together); default: no limit."),
        click.option("--progress/--no-progress", default=True,
                     help="Show a progress bar with rate and ETA."),
    ]
    for option in reversed(options):
        f = option(f)
    return connection_options(_dir(f))


def _migrator(app: str, endpoint_url: str | None, region: str | None, table_name: str | None,
              directory: Path, **options: Any) -> Migrator:
    from dyntable.migrations.data import load_migrations
    from dyntable.migrations.runner import Migrator

    db = connect(app, endpoint_url, region, table_name)
    return Migrator(db, load_migrations(directory), **options)


@contextmanager
def _progress_bar(migrator: Migrator, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    total = migrator.estimated_items() or None
    columns = (TextColumn("scanning"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]} items/s"), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("scan", total=total, rate="-")

        def advance(n: int) -> None:
            bar.advance(task, n)
            speed = bar.tasks[task].speed
            bar.update(task, rate=f"{speed:,.0f}" if speed else "-")

        migrator.progress = advance
        yield


@click.group()
def migrate() -> None:
    """Versioned data migrations: files NNNN_name.py with up(item) and down(item)."""


@migrate.command()
@click.argument("name")
@_dir
def new(name: str, directory: Path) -> None:
    """Create the next migration file from a template."""
    from dyntable.migrations.data import new_migration

    click.echo(f"created {new_migration(directory, name)}")


def _when(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


@migrate.command()
@connection_options
@_dir
def status(app: str, endpoint_url: str | None, region: str | None, table_name: str | None,
           directory: Path) -> None:
    """List the migrations and whether each is applied.

    A file that cannot be loaded (unfinished, a syntax error...) is listed as broken with
    its error, beside the others; the exit status is then 1.
    """
    from dyntable.migrations.data import scan_migrations
    from dyntable.migrations.runner import Migrator

    loaded, broken = scan_migrations(directory)
    db = connect(app, endpoint_url, region, table_name)
    migrator = Migrator(db, loaded)
    states = migrator.history.states()
    rows: list[tuple[str, str]] = []
    for m in migrator.migrations:
        st = states.get(m.id)
        state = "pending" if st is None else st.status
        extra = "" if st is None else f" run {st.run}, {st.total_segments} segments, " \
            f"{_when(st.finished_at or st.started_at)}"
        rows.append((m.id, f"{m.id:<40} {state:<10}{extra}  {m.description}"))
    for b in broken:
        st = states.get(b.id)
        recorded = "" if st is None else f" (recorded as {st.status})"
        rows.append((b.id, f"{b.id:<40} {'broken':<10}{recorded}  {b.error}"))
    if not rows:
        click.echo(f"no migrations in {directory}")
    for _mid, line in sorted(rows):
        click.echo(line)
    if broken:
        click.echo(f"{len(broken)} migration file(s) cannot be loaded; fix them before "
                   "'dyntable migrate up'", err=True)
        raise SystemExit(1)


def _options(kw: dict[str, Any]) -> tuple[bool, bool, dict[str, Any]]:
    dry_run = bool(kw.pop("dry_run"))
    progress = bool(kw.pop("progress"))
    return dry_run, progress, kw


@migrate.command()
@click.argument("target", required=False)
@_run_options
def up(target: str | None, **kw: Any) -> None:
    """Apply pending migrations in order (up to TARGET); resumes an interrupted run."""
    dry_run, progress, kw = _options(kw)
    migrator = _migrator(**kw)
    with _progress_bar(migrator, progress and not dry_run):
        reports = migrator.up(target, dry_run=dry_run)
    if not reports:
        click.echo("nothing to apply")
    for report in reports:
        click.echo(report.summary())


@migrate.command()
@click.argument("target", required=False)
@_run_options
def down(target: str | None, **kw: Any) -> None:
    """Revert one migration: TARGET, or the latest applied."""
    dry_run, progress, kw = _options(kw)
    migrator = _migrator(**kw)
    with _progress_bar(migrator, progress and not dry_run):
        report = migrator.down(target, dry_run=dry_run)
    click.echo(report.summary())
