"""Load the application's table declaration from ``module:attribute`` (``--app``)."""

from __future__ import annotations

import importlib
import os
import sys

from dyntable.migrations.errors import AppLoadError
from dyntable.schema.table import TableSchema

__all__ = ["load_app"]


def load_app(spec: str) -> TableSchema:
    """Import ``module`` and return its attribute ``attr`` from ``"module:attr"``.

    The current directory is put on ``sys.path`` first, so ``--app myapp.models:table``
    works from a project checkout.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise AppLoadError(f"--app takes module:attribute (e.g. myapp.models:table), not {spec!r}")
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AppLoadError(f"cannot import {module_name!r} (from --app {spec}): {exc}") from exc
    value = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise AppLoadError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not isinstance(value, TableSchema):
        raise AppLoadError(f"{spec} is a {type(value).__name__}, not a dyntable Table")
    return value
