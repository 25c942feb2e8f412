"""Model schema versions: upgrade functions applied when an older item is read.

A model declared with ``schema_version=N`` writes its version in the attribute
:data:`VERSION_ATTRIBUTE` (``_v``). Reading an item stored with an older version runs the
model's upgrade chain on the item's plain values before validation, so old items decode
into the current model and can be rewritten lazily, as they are touched::

    class Customer(Model, table=shop, entity="customer", schema_version=2):
        username: str
        name: str

        @upgrade(from_version=1)
        def _split_name(cls, values: dict[str, Any]) -> dict[str, Any]:
            values["name"] = values.pop("fullname")
            return values

Upgrade functions take and return a dict of plain Python values (every stored attribute,
including ones the current model no longer declares). An item without ``_v`` counts as
version 1. An item newer than the model (written by newer code during a rolling deploy)
is decoded as it is.

This module is the low-layer registry the codec calls; it imports only from
``dyntable.schema`` and ``dyntable.errors``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dyntable.errors import DeclarationError, DecodeError

if TYPE_CHECKING:
    from dyntable._internal.schema.spec import ModelSpec
    from dyntable.schema.model import Model

__all__ = [
    "VERSION_ATTRIBUTE",
    "Upgrade",
    "register_upgrade",
    "stored_version",
    "upgrade",
    "upgrade_values",
    "upgrades_of",
]

#: The attribute holding an item's schema version (a number).
VERSION_ATTRIBUTE = "_v"
#: Where ``@upgrade`` leaves its version on the decorated function.
_MARK = "__dyntable_upgrade_from__"

Values = dict[str, Any]
Upgrade = Callable[[Values], Values]
F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_explicit: dict[type[Any], dict[int, Upgrade]] = {}
_chains: dict[type[Any], dict[int, Upgrade]] = {}


def upgrade(*, from_version: int) -> Callable[[F], classmethod[Any, Any, Any]]:
    """Declare, in a model's class body, the function upgrading values from ``from_version``.

    The function is made a classmethod (``cls`` is the model) taking and returning a dict
    of plain values; it upgrades to ``from_version + 1``.
    """
    if not isinstance(from_version, int) or from_version < 1:
        raise DeclarationError("upgrade(from_version=...) takes an int >= 1")

    def mark(fn: Any) -> classmethod[Any, Any, Any]:
        func = fn.__func__ if isinstance(fn, classmethod) else fn
        if not callable(func):
            raise DeclarationError("@upgrade decorates a function")
        setattr(func, _MARK, from_version)
        return classmethod(func)

    return mark


def register_upgrade(model: type[Model], from_version: int, fn: Upgrade) -> None:
    """Register ``fn(values) -> values`` upgrading ``model`` items from ``from_version``."""
    if not isinstance(from_version, int) or from_version < 1:
        raise DeclarationError(f"{model.__name__}: from_version must be an int >= 1")
    with _lock:
        table = _explicit.setdefault(model, {})
        if from_version in table:
            raise DeclarationError(
                f"{model.__name__}: an upgrade from version {from_version} is already registered"
            )
        table[from_version] = fn
        _chains.pop(model, None)


def _declared(model: type[Model]) -> dict[int, Upgrade]:
    found: dict[int, Upgrade] = {}
    for klass in reversed(model.__mro__):
        for name, value in list(vars(klass).items()):  # getattr may complete the class
            func = getattr(value, "__func__", None)
            version = getattr(func, _MARK, None)
            if isinstance(version, int):
                found[version] = getattr(model, name)
    return found


def upgrades_of(model: type[Model]) -> dict[int, Upgrade]:
    """``from_version -> upgrade`` for ``model`` (declared with ``@upgrade`` or registered)."""
    chain = _chains.get(model)
    if chain is None:
        with _lock:
            chain = {**_declared(model), **_explicit.get(model, {})}
            _chains[model] = chain
    return chain


def stored_version(item: Mapping[str, Any]) -> int:
    """The schema version of a stored (wire-form) item; 1 when it carries none."""
    av = item.get(VERSION_ATTRIBUTE)
    if isinstance(av, Mapping) and "N" in av:
        try:
            return int(str(av["N"]))
        except ValueError:
            return 1
    return 1


def upgrade_values(spec: ModelSpec, values: Values, stored: int) -> Values:
    """Run ``spec``'s upgrade chain on ``values`` from version ``stored`` to the current one.

    Returns ``values`` unchanged when the model has no ``schema_version`` or the item is not
    older. A missing step or a failing upgrade is a :class:`~dyntable.errors.DecodeError`.
    """
    current = spec.schema_version
    if current is None or stored >= current:
        return values
    chain = upgrades_of(spec.model)
    name = spec.model.__name__
    for version in range(stored, current):
        fn = chain.get(version)
        if fn is None:
            raise DecodeError(
                f"{name} item has schema version {version} but {name} declares no "
                f"@upgrade(from_version={version}) (current version {current})",
                model=name,
            )
        try:
            result = fn(dict(values))
        except Exception as exc:
            raise DecodeError(
                f"{name}: upgrade from schema version {version} failed: "
                f"{type(exc).__name__}: {exc}",
                model=name,
            ) from exc
        if not isinstance(result, dict):
            raise DecodeError(
                f"{name}: upgrade from schema version {version} returned "
                f"{type(result).__name__}, not a dict",
                model=name,
            )
        values = result
    return values


def check_chain(spec: ModelSpec) -> list[int]:
    """The versions below the current one that have no upgrade (empty: complete chain)."""
    if spec.schema_version is None:
        return []
    chain = upgrades_of(spec.model)
    return [v for v in range(1, spec.schema_version) if v not in chain]
