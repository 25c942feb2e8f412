"""The ``dyntable`` command.

Each subcommand lives in its own module and is imported only when it is run (or
listed by ``--help``). To add a command, add one line to :data:`COMMANDS`; a
command whose module does not exist yet is simply not listed, and one whose module
fails to import is listed as unavailable instead of breaking the whole CLI.

Errors: a :class:`dyntable.errors.DyntableError` or a usage error prints one line to
stderr and exits non-zero (1, or 2 for usage errors); ``--debug`` (or
``DYNTABLE_DEBUG=1``) shows the traceback of dyntable errors instead.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any

try:
    import click
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the dyntable command needs the cli extra: pip install 'dyntable[cli]'"
    ) from exc

from dyntable.errors import DyntableError

__all__ = ["COMMANDS", "LazyGroup", "main"]

#: Subcommands: name -> (module, attribute holding the click command or group).
COMMANDS: dict[str, tuple[str, str]] = {
    "local": ("dyntable.cli.local", "local"),
    # Planned; each appears as soon as its module exists:
    "demo": ("dyntable.cli.demo", "demo"),
    "table": ("dyntable.cli.table", "table"),
    "migrate": ("dyntable.cli.migrate", "migrate"),
    "export": ("dyntable.cli.export", "export"),
    "design": ("dyntable.cli.design", "design"),
}

_DEBUG = "dyntable.debug"
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class _OneLineError(click.ClickException):
    """Shown by click as a single ``Error: ...`` line on stderr."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(line.strip() for line in message.splitlines() if line.strip()))


class _OneLineUsageError(_OneLineError):
    exit_code = 2


def _usage_line(exc: click.UsageError) -> _OneLineError:
    hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    return _OneLineUsageError(exc.format_message() + hint)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use (see :data:`COMMANDS`)."""

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        names.update(name for name, (module, _) in self.lazy_commands.items() if _exists(module))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.lazy_commands:
            return command
        module_name, attr = self.lazy_commands[cmd_name]
        if not _exists(module_name):
            return None
        try:
            command = getattr(importlib.import_module(module_name), attr)
        except Exception as exc:  # a broken command must not break the others
            return _unavailable(cmd_name, exc)
        if not isinstance(command, click.Command):
            return _unavailable(cmd_name, TypeError(f"{module_name}.{attr} is not a click command"))
        self.add_command(command, cmd_name)
        return command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _NO_ARGS_IS_HELP:
            raise
        except click.UsageError as exc:
            raise _usage_line(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _NO_ARGS_IS_HELP:
            raise
        except click.UsageError as exc:
            raise _usage_line(exc) from exc
        except DyntableError as exc:
            if ctx.meta.get(_DEBUG):
                raise
            raise _OneLineError(f"{type(exc).__name__}: {exc}") from exc


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def _unavailable(name: str, exc: Exception) -> click.Command:
    reason = f"{type(exc).__name__}: {exc}"

    def fail() -> None:
        raise _OneLineError(f"the '{name}' command is unavailable: {reason}") from exc

    return click.Command(
        name,
        callback=fail,
        help=f"Unavailable: {reason}",
        short_help=f"(unavailable: {reason})",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--debug",
    is_flag=True,
    envvar="DYNTABLE_DEBUG",
    help="Show full tracebacks for dyntable errors.",
)
@click.version_option(package_name="dyntable", prog_name="dyntable")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """dyntable: typed single-table design for Amazon DynamoDB."""
    ctx.meta[_DEBUG] = debug
