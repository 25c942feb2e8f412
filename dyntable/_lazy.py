"""Lazy public names for packages: import a submodule the first time one of its names is used.

A package declares its names and where they live, then binds the two module hooks::

    _LAZY = {"Client": "dyntable.client", "Migrator": ".runner"}
    __all__ = ["Client", "Migrator"]
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)

Module paths starting with ``.`` are relative to the package. A loaded name is stored in
the package's namespace, so the hook runs once per name.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], exported: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` hooks for ``package``.

    Args:
        package: the package's ``__name__``.
        names: public name -> module that defines it (absolute, or relative with ``.``).
        exported: the package's ``__all__``; ``dir(package)`` lists exactly these.

    Returns:
        ``(__getattr__, __dir__)``, to be bound at module level.
    """
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return list(exported)

    return __getattr__, __dir__
