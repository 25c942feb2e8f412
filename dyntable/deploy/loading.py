"""Load ``--app module:attribute`` naming either a Table or an :class:`Application`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from dyntable.migrations.app import load_app
from dyntable.migrations.errors import AppLoadError

if TYPE_CHECKING:
    from dyntable.deploy.app import Application
    from dyntable.schema.table import TableSchema

__all__ = ["load_application", "load_target"]


def load_target(spec: str) -> TableSchema | Application:
    """The Table or Application named by ``spec`` (``module:attribute``).

    Raises:
        AppLoadError: the module cannot be imported, or the attribute is neither.
    """
    from dyntable.deploy.app import Application

    try:
        return load_app(spec)
    except AppLoadError:
        value = _resolve(spec)
        if isinstance(value, Application):
            return value
        if value is None:
            raise
    raise AppLoadError(
        f"{spec} is a {type(value).__name__}, not a dyntable Table or Application")


def load_application(spec: str) -> Application:
    """The Application named by ``spec``; AppLoadError when it names something else."""
    from dyntable.deploy.app import Application

    target = load_target(spec)
    if not isinstance(target, Application):
        raise AppLoadError(f"{spec} is a Table, not a dyntable.deploy.Application")
    return target


def _resolve(spec: str) -> object | None:
    """The attribute ``spec`` names (after load_app imported its module), or ``None``."""
    module_name, _, attr = spec.partition(":")
    try:
        value: object = importlib.import_module(module_name)
        for part in attr.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError, ValueError):
        return None
    return value
