"""``dyntable design``: the table's single-table design as a page, Markdown or JSON, and
``dyntable design import-workbench`` / ``dyntable export workbench``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dyntable.cli.table import app_option, connect, load_table

if TYPE_CHECKING:
    from dyntable.design.model import Design

__all__ = ["design", "workbench"]

_FORMATS = ("html", "markdown", "json")


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def build(app: str, samples: Path | None = None, sample: int | None = None,
          endpoint_url: str | None = None, region: str | None = None,
          table_name: str | None = None) -> Design:
    """The design of the ``--app`` table, with samples from a file or the live table."""
    from dyntable.design.model import build_design
    from dyntable.design.samples import load_fixture, scan_sample

    table = load_table(app)
    if samples is not None and sample is not None:
        raise click.UsageError("--samples and --sample exclude each other")
    if sample is not None:
        db = connect(app, endpoint_url, region, table_name)
        try:
            items = scan_sample(db, sample)
        finally:
            db.close()
        return build_design(table, items, source="live", examples=False, placeholders=False)
    given = load_fixture(samples, table) if samples is not None else []
    return build_design(table, given)


_output = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                       default=None, help="Write to this file instead of stdout.")
_samples = click.option(
    "--samples", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Sample items: a JSON/YAML file mapping entity -> field values, or a list of "
    "DynamoDB JSON items (default: model examples, else stand-in values).")


@click.group(invoke_without_command=True)
@click.option("--app", "app", default=None, envvar="DYNTABLE_APP",
              help="The table declaration, as module:attribute (env DYNTABLE_APP).")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="html", show_default=True,
              help="html: one self-contained page; markdown: access patterns for docs and "
              "pull requests; json: the design as data.")
@_output
@_samples
@click.option("--sample", type=click.IntRange(1, 1000), default=None,
              help="Read at most N items from the live table (one Scan with Limit N).")
@click.option("--endpoint-url", default=None, envvar="DYNTABLE_ENDPOINT_URL",
              help="DynamoDB endpoint for --sample (e.g. DynamoDB Local).")
@click.option("--region", default=None, envvar="AWS_REGION", help="AWS region for --sample.")
@click.option("--table-name", default=None,
              help="Physical table name for --sample, when it differs from the declaration's.")
@click.option("--serve", is_flag=True,
              help="Serve the page on http://127.0.0.1 until Ctrl-C (this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Port for --serve (default: a free one).")
@click.pass_context
def design(ctx: click.Context, app: str | None, fmt: str, output: Path | None,
           samples: Path | None, sample: int | None, endpoint_url: str | None,
           region: str | None, table_name: str | None, serve: bool, port: int) -> None:
    """Show the single-table design of --app: entities and their key templates per index,
    items per partition, access patterns and warnings (HTML, Markdown or JSON)."""
    if ctx.invoked_subcommand is not None:
        return
    if app is None:
        raise click.UsageError("Missing option '--app' (or env DYNTABLE_APP).")
    if serve and fmt != "html":
        raise click.UsageError("--serve shows the html format")
    result = build(app, samples, sample, endpoint_url, region, table_name)
    text = _render(result, fmt)
    if serve:
        if output is not None:
            _write(text, output)
        _serve(text, port)
        return
    _write(text, output)


def _render(result: Design, fmt: str) -> str:
    if fmt == "markdown":
        from dyntable.design.markdown import render_markdown

        return render_markdown(result)
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
    from dyntable.design.html import render_html

    return render_html(result)


def _serve(page: str, port: int) -> None:
    from dyntable.cli.signals import sigterm_interrupts
    from dyntable.design.serve import PageServer

    server = PageServer(page, port)
    click.echo(f"Serving the design at {server.url} (Ctrl-C to stop)", err=True)
    with sigterm_interrupts():
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.httpd.server_close()


@design.command("import-workbench")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_output
def import_workbench(model: Path, output: Path | None) -> None:
    """Print draft dyntable declarations (Python) from a NoSQL Workbench data model."""
    from dyntable.design.workbench_import import workbench_to_source

    try:
        document: Any = json.loads(model.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise click.ClickException(f"{model} is not JSON: {exc}") from exc
    _write(workbench_to_source(document), output)


@click.command()
@app_option
@_samples
@_output
def workbench(app: str, samples: Path | None, output: Path | None) -> None:
    """A NoSQL Workbench data model (JSON): keys, GSIs, one facet per entity, sample data."""
    from dyntable.design.workbench import to_workbench

    document = to_workbench(build(app, samples))
    _write(json.dumps(document, indent=2, ensure_ascii=False) + "\n", output)
