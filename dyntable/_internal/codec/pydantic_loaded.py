"""pydantic's classes, looked up only where pydantic is already loaded.

The client and the codec do not import pydantic themselves (it is a large import): any
pydantic model or validation error that reaches them comes from code that already did, so
checking ``sys.modules`` is enough and keeps ``table.connect()`` light.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["is_model_class", "is_model_instance", "validation_errors"]


def _base_model() -> type[Any] | None:
    main = sys.modules.get("pydantic.main")
    base: type[Any] | None = getattr(main, "BaseModel", None)
    return base


def is_model_instance(value: Any) -> bool:
    """True for an instance of a pydantic model."""
    base = _base_model()
    return base is not None and isinstance(value, base)


def is_model_class(value: Any) -> bool:
    """True for a pydantic model class."""
    base = _base_model()
    return base is not None and isinstance(value, type) and issubclass(value, base)


def validation_errors(exc: BaseException) -> list[dict[str, Any]] | None:
    """The error list of a pydantic ValidationError, else ``None``."""
    core = sys.modules.get("pydantic_core")
    cls = getattr(core, "ValidationError", None)
    if cls is None or not isinstance(exc, cls):
        return None
    errors: list[dict[str, Any]] = exc.errors()
    return errors
