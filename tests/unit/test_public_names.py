"""Every public name resolves: ``dyntable.__all__`` and each package's and module's
``__all__`` (the lazy export maps included), and the lazy maps list exactly ``__all__``."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import dyntable


def _modules() -> list[str]:
    names = ["dyntable"]
    for info in pkgutil.walk_packages(dyntable.__path__, "dyntable."):
        names.append(info.name)
    return sorted(names)


MODULES = _modules()


def _load(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # an optional extra that is not installed
        pytest.skip(f"{name} needs an optional dependency: {exc}")


@pytest.mark.parametrize("name", MODULES)
def test_every_name_in_all_resolves(name: str) -> None:
    module = _load(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        return
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not have: {missing}"


@pytest.mark.parametrize("name", [m for m in MODULES if m == "dyntable" or m.count(".") == 1])
def test_lazy_export_maps_match_all(name: str) -> None:
    module = _load(name)
    lazy = getattr(module, "_LAZY", None)
    if lazy is None:
        return
    exported = set(module.__all__) - {"__version__"}
    assert set(lazy) == exported, (
        f"{name}: in _LAZY but not __all__: {sorted(set(lazy) - exported)}; "
        f"in __all__ but not _LAZY: {sorted(exported - set(lazy))}")
    assert sorted(dir(module)) == sorted(module.__all__)


def test_the_top_level_names_are_the_documented_ones() -> None:
    for name in ("Table", "Model", "Key", "GSI", "LSI", "F", "Client", "AsyncClient",
                 "Query", "Scan", "ItemKey", "Page", "Collection", "Version", "TTL"):
        assert name in dyntable.__all__, name
    assert dyntable.Table.__module__ == "dyntable.table"
    assert dyntable.AsyncClient.__module__ == "dyntable.async_client"
