"""Table declarations: the physical table, its key attributes, indexes, TTL and stream."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dyntable.errors import DeclarationError
from dyntable.schema.settings import (
    AutoScaling,
    Encryption,
    OnDemandThroughput,
    Replica,
    check_table_class,
    check_tags,
)

if TYPE_CHECKING:
    from dyntable.schema.formats import TypeHook
    from dyntable.schema.model import Model

__all__ = ["GSI", "LSI", "AttributeType", "Projection", "TableSchema"]

AttributeType = Literal["S", "N", "B"]
Projection = Literal["ALL", "KEYS_ONLY"] | Sequence[str]
StreamView = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]
_STREAM_VIEWS = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")


def _check_projection(owner: str, projection: Any) -> tuple[str, tuple[str, ...]]:
    if projection in ("ALL", "KEYS_ONLY"):
        return str(projection), ()
    if isinstance(projection, str) or not isinstance(projection, Sequence):
        raise DeclarationError(
            f"{owner}: projection must be 'ALL', 'KEYS_ONLY' or a list of attribute names "
            f"(INCLUDE), not {projection!r}"
        )
    names = tuple(projection)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise DeclarationError(f"{owner}: INCLUDE projection needs attribute names")
    return "INCLUDE", names


def _key_attrs(owner: str, value: str | Sequence[str] | None, *, required: bool) -> tuple[str, ...]:
    if value is None:
        if required:
            raise DeclarationError(f"{owner}: a partition key attribute is required")
        return ()
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise DeclarationError(f"{owner}: key attribute names must be non-empty strings")
    if len(names) > 4:
        raise DeclarationError(f"{owner}: at most 4 attributes per multi-attribute key")
    return names


def _check_setting(owner: str, name: str, value: Any, kind: type) -> None:
    if value is not None and not isinstance(value, kind):
        raise DeclarationError(f"{owner}: {name} takes {kind.__name__}(...), not {value!r}")


@dataclass(frozen=True)
class GSI:
    """A global secondary index.

    ``pk`` / ``sk`` name the index key attributes. A list of names declares a native
    multi-attribute key (up to 4 attributes each), whose attributes are model fields.
    ``projection`` is ``"ALL"`` (default), ``"KEYS_ONLY"`` or a list of attribute names
    (INCLUDE). Capacity and auto scaling apply to provisioned tables only,
    ``on_demand_throughput`` (maximum request units) to on-demand tables only.
    """

    name: str
    pk: str | Sequence[str]
    sk: str | Sequence[str] | None = None
    projection: Projection = "ALL"
    read_capacity: int | None = None
    write_capacity: int | None = None
    on_demand_throughput: OnDemandThroughput | None = None
    read_autoscaling: AutoScaling | None = None
    write_autoscaling: AutoScaling | None = None
    pk_attrs: tuple[str, ...] = field(init=False, repr=False)
    sk_attrs: tuple[str, ...] = field(init=False, repr=False)
    projection_type: str = field(init=False, repr=False)
    include: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        owner = f"GSI {self.name!r}"
        if not isinstance(self.name, str) or not (3 <= len(self.name) <= 255):
            raise DeclarationError(f"{owner}: index names are 3 to 255 characters")
        object.__setattr__(self, "pk_attrs", _key_attrs(owner, self.pk, required=True))
        object.__setattr__(self, "sk_attrs", _key_attrs(owner, self.sk, required=False))
        ptype, include = _check_projection(owner, self.projection)
        object.__setattr__(self, "projection_type", ptype)
        object.__setattr__(self, "include", include)
        _check_setting(owner, "on_demand_throughput", self.on_demand_throughput,
                       OnDemandThroughput)
        _check_setting(owner, "read_autoscaling", self.read_autoscaling, AutoScaling)
        _check_setting(owner, "write_autoscaling", self.write_autoscaling, AutoScaling)

    @property
    def is_local(self) -> bool:
        """False: a GSI has its own partition key."""
        return False

    @property
    def multi_attribute(self) -> bool:
        """True when a key has more than one attribute (native multi-attribute keys)."""
        return len(self.pk_attrs) > 1 or len(self.sk_attrs) > 1


@dataclass(frozen=True)
class LSI:
    """A local secondary index: the table's partition key with another sort key."""

    name: str
    sk: str
    projection: Projection = "ALL"
    projection_type: str = field(init=False, repr=False)
    include: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        owner = f"LSI {self.name!r}"
        if not isinstance(self.name, str) or not (3 <= len(self.name) <= 255):
            raise DeclarationError(f"{owner}: index names are 3 to 255 characters")
        if not isinstance(self.sk, str) or not self.sk:
            raise DeclarationError(f"{owner}: an LSI needs one sort key attribute name")
        ptype, include = _check_projection(owner, self.projection)
        object.__setattr__(self, "projection_type", ptype)
        object.__setattr__(self, "include", include)

    @property
    def is_local(self) -> bool:
        """True: an LSI shares the table's partition key."""
        return True

    @property
    def pk_attrs(self) -> tuple[str, ...]:
        """Filled in by the table: an LSI's partition key is the table's."""
        return ()

    @property
    def sk_attrs(self) -> tuple[str, ...]:
        """The LSI sort key attribute."""
        return (self.sk,)


def _check_settings(table: TableSchema) -> None:
    owner = f"table {table.name!r}"
    _check_setting(owner, "encryption", table.encryption, Encryption)
    _check_setting(owner, "on_demand_throughput", table.on_demand_throughput,
                   OnDemandThroughput)
    _check_setting(owner, "read_autoscaling", table.read_autoscaling, AutoScaling)
    _check_setting(owner, "write_autoscaling", table.write_autoscaling, AutoScaling)
    pitr = table.point_in_time_recovery
    if pitr is not None and not isinstance(pitr, bool):
        raise DeclarationError(f"{owner}: point_in_time_recovery is True, False or None, "
                               f"not {pitr!r}")
    days = table.recovery_period_days
    if days is not None:
        if type(days) is not int or not 1 <= days <= 35:
            raise DeclarationError(f"{owner}: recovery_period_days is 1 to 35, not {days!r}")
        if pitr is not True:
            raise DeclarationError(f"{owner}: recovery_period_days needs "
                                   "point_in_time_recovery=True")
    if not isinstance(table.deletion_protection, bool):
        raise DeclarationError(f"{owner}: deletion_protection is True or False, "
                               f"not {table.deletion_protection!r}")


def _capacity_pairs(table: TableSchema) -> list[tuple[str, Any, Any, Any, Any, Any]]:
    pairs: list[tuple[str, Any, Any, Any, Any, Any]] = [
        (f"table {table.name!r}", table.read_capacity, table.write_capacity,
         table.on_demand_throughput, table.read_autoscaling, table.write_autoscaling)]
    pairs += [(f"GSI {g.name!r}", g.read_capacity, g.write_capacity, g.on_demand_throughput,
               g.read_autoscaling, g.write_autoscaling) for g in table.gsis]
    return pairs


def _check_capacity(table: TableSchema) -> None:
    provisioned = table.billing_mode == "PROVISIONED"
    for owner, read, write, on_demand, read_as, write_as in _capacity_pairs(table):
        if provisioned and on_demand is not None:
            raise DeclarationError(f"{owner}: on_demand_throughput applies to "
                                   "PAY_PER_REQUEST billing, not PROVISIONED")
        if not provisioned and (read_as or write_as):
            raise DeclarationError(
                f"{owner}: auto scaling applies to PROVISIONED billing; this table is "
                "PAY_PER_REQUEST (use on_demand_throughput to cap it)")
        for name, units, scaling in (("read", read, read_as), ("write", write, write_as)):
            if units is not None and (type(units) is not int or units < 1):
                raise DeclarationError(f"{owner}: {name}_capacity must be a positive int, "
                                       f"not {units!r}")
            if scaling is not None and units is not None and \
                    not scaling.min_capacity <= units <= scaling.max_capacity:
                raise DeclarationError(
                    f"{owner}: {name}_capacity {units} is outside its auto scaling range "
                    f"{scaling.min_capacity}-{scaling.max_capacity}")


def _check_replicas(table: TableSchema) -> None:
    owner = f"table {table.name!r}"
    regions = [r.region for r in table.replicas if isinstance(r, Replica)]
    if len(regions) != len(table.replicas):
        raise DeclarationError(f"{owner}: replicas takes region names or Replica(...)")
    if not table.replicas:
        return
    dupes = sorted({r for r in regions if regions.count(r) > 1})
    if dupes:
        raise DeclarationError(f"{owner}: replica regions given twice: {dupes}")
    if table.stream != "NEW_AND_OLD_IMAGES":
        raise DeclarationError(
            f"{owner}: replicas need stream='NEW_AND_OLD_IMAGES' (global tables replicate "
            f"through it), not {table.stream!r}")
    if table.billing_mode == "PROVISIONED" and table.write_autoscaling is None:
        raise DeclarationError(
            f"{owner}: a PROVISIONED global table needs write_autoscaling: every replica has "
            "the same write capacity, which AWS keeps in step by auto scaling "
            "(CloudFormation's GlobalTable requires it)")
    customer = table.encryption is not None and table.encryption.kind == "CUSTOMER_MANAGED"
    for r in table.replicas:
        where = f"{owner}, replica {r.region!r}"
        if r.kms_key is not None and not customer:
            raise DeclarationError(
                f"{where}: kms_key needs the table's encryption to be "
                "Encryption.customer_managed(...); AWS owned and AWS managed keys are "
                "chosen by AWS in each region")
        if customer and r.kms_key is None and table.encryption is not None and \
                table.encryption.key_is_arn:
            raise DeclarationError(
                f"{where}: the table's KMS key is an ARN, which names a key in one region; "
                "give the replica its own kms_key (or declare the key by alias)")
        if table.billing_mode == "PROVISIONED" and r.max_read_units is not None:
            raise DeclarationError(f"{where}: max_read_units applies to PAY_PER_REQUEST "
                                   "tables; use read_capacity or read_autoscaling")
        if table.billing_mode != "PROVISIONED" and (r.read_capacity or r.read_autoscaling):
            raise DeclarationError(f"{where}: read capacity overrides apply to PROVISIONED "
                                   "tables; use max_read_units")


def _shape(model: type[Model]) -> tuple[tuple[str, ...], ...]:
    """The literal text of a model's primary key templates (fields left out)."""
    spec = model.__dyntable__.primary
    return tuple(t.literals for t in (*spec.pk_templates, *spec.sk_templates))


def _type_hooks(
    table: str, hooks: Mapping[type, TypeHook[Any]] | None
) -> dict[type, TypeHook[Any]]:
    out = dict(hooks or {})
    if not out:
        return out
    from dyntable.schema.formats import TypeHook  # only when hooks are given

    for t, hook in out.items():
        if not isinstance(t, type) or not isinstance(hook, TypeHook):
            raise DeclarationError(
                f"table {table!r}: type_hooks maps Python types to TypeHook(encode=..., "
                f"decode=...), not {t!r}: {hook!r}"
            )
    return out


def _origin(model: type[Any]) -> tuple[str, str]:
    """Where a class was defined; a class re-created there (module reload) may re-register."""
    return (model.__module__, model.__qualname__)


class TableSchema:
    """One physical DynamoDB table shared by many entity models: the declaration.

    Applications declare tables with :class:`dyntable.Table`, which adds ``connect()`` and
    ``connect_async()``; the lower layers (models, codec, operations) only need this part.

    Args:
        name: the table name.
        pk / sk: key attribute names (generic names such as ``PK`` / ``SK`` suit single-table
            design); ``sk=None`` for a table without sort key.
        gsis / lsis: secondary indexes (at most 20 GSIs and 5 LSIs).
        ttl: the TTL attribute name (epoch seconds on the wire).
        stream: stream view type, or ``None`` for no stream.
        billing_mode: ``PAY_PER_REQUEST`` (default) or ``PROVISIONED`` (then give capacity).
        table_class: ``STANDARD`` or ``STANDARD_INFREQUENT_ACCESS``.
        entity_attribute: the attribute naming each item's entity (``"_entity"``), or
            ``None`` for a table whose items carry none (a table another program wrote): then
            an item's model is found from its primary key, by the key templates that fit it
            (with one model on the table, every item is that model's). Items lacking the
            attribute on a table that has one are matched by their key the same way.
        attribute_types: key attribute types other than ``S`` (e.g. ``{"LSI1SK": "N"}``).
        deletion_protection: refuse DeleteTable while on (in every region, unless a
            replica says otherwise).
        tags: resource tags; ``None`` leaves the live table's tags alone, a dict (even
            empty) is the whole set ``dyntable table sync`` keeps.
        point_in_time_recovery: continuous backups on or off (``None``: not managed).
        recovery_period_days: how far back point-in-time recovery reaches (1-35 days;
            ``None``: AWS's default, 35).
        encryption: :class:`~dyntable.schema.settings.Encryption` at rest (``None``: not
            managed; DynamoDB's default is an AWS owned key).
        on_demand_throughput: maximum read / write request units of an on-demand table.
        read_autoscaling / write_autoscaling: :class:`~dyntable.schema.settings.AutoScaling`
            targets of a provisioned table (Application Auto Scaling: exported to
            CloudFormation, not applied by ``sync``); capacity defaults to the minimum.
        replicas: regions (or :class:`~dyntable.schema.settings.Replica` settings) that hold
            replicas of this global table, besides the region it is created in; they need
            ``stream="NEW_AND_OLD_IMAGES"``.
        type_hooks: Python type -> :class:`~dyntable.schema.formats.TypeHook`, how fields
            of that type (optionally ``| None``) are stored in every model of the table
            (a field's own ``Format`` or ``TypeHook`` wins; see docs/modelling.md).
    """

    def __init__(
        self,
        name: str,
        *,
        pk: str = "PK",
        sk: str | None = "SK",
        gsis: Sequence[GSI] = (),
        lsis: Sequence[LSI] = (),
        ttl: str | None = None,
        stream: StreamView | None = None,
        billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST",
        read_capacity: int | None = None,
        write_capacity: int | None = None,
        table_class: str | None = None,
        entity_attribute: str | None = "_entity",
        attribute_types: dict[str, AttributeType] | None = None,
        deletion_protection: bool = False,
        tags: Mapping[str, str] | None = None,
        type_hooks: Mapping[type, TypeHook[Any]] | None = None,
        point_in_time_recovery: bool | None = None,
        recovery_period_days: int | None = None,
        encryption: Encryption | None = None,
        on_demand_throughput: OnDemandThroughput | None = None,
        read_autoscaling: AutoScaling | None = None,
        write_autoscaling: AutoScaling | None = None,
        replicas: Sequence[Replica | str] = (),
    ) -> None:
        if not isinstance(name, str) or not (3 <= len(name) <= 255):
            raise DeclarationError(f"table name must be 3 to 255 characters, not {name!r}")
        self.name = name
        self.pk = pk
        self.sk = sk
        self.gsis = tuple(gsis)
        self.lsis = tuple(lsis)
        self.ttl = ttl
        self.stream = stream
        self.billing_mode = billing_mode
        self.read_autoscaling = read_autoscaling
        self.write_autoscaling = write_autoscaling
        self.read_capacity = read_capacity if read_capacity is not None or \
            not isinstance(read_autoscaling, AutoScaling) else read_autoscaling.min_capacity
        self.write_capacity = write_capacity if write_capacity is not None or \
            not isinstance(write_autoscaling, AutoScaling) else write_autoscaling.min_capacity
        self.table_class = table_class
        self.entity_attribute = entity_attribute
        self.attribute_types: dict[str, AttributeType] = dict(attribute_types or {})
        self.deletion_protection = deletion_protection
        #: ``tags`` as given (``None``: the live table's tags are not managed)
        self.declared_tags = check_tags(f"table {name!r}", tags)
        self.tags: dict[str, str] = dict(self.declared_tags or {})
        self.point_in_time_recovery = point_in_time_recovery
        self.recovery_period_days = recovery_period_days
        self.encryption = encryption
        self.on_demand_throughput = on_demand_throughput
        self.replicas: tuple[Replica, ...] = tuple(
            Replica(r) if isinstance(r, str) else r for r in replicas)
        self.type_hooks: dict[type, TypeHook[Any]] = _type_hooks(name, type_hooks)
        self._models: dict[str, type[Model]] = {}
        #: bumped at each registration (caches of the entity rules compare it)
        self.generation = 0
        self._lock = threading.Lock()
        self._check()

    def _check(self) -> None:  # noqa: C901 - one check per rule
        if len(self.gsis) > 20:
            raise DeclarationError(f"table {self.name!r}: at most 20 GSIs")
        if len(self.lsis) > 5:
            raise DeclarationError(f"table {self.name!r}: at most 5 LSIs")
        if self.lsis and not self.sk:
            raise DeclarationError(f"table {self.name!r}: LSIs need a table with a sort key")
        names = [i.name for i in self.indexes]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise DeclarationError(f"table {self.name!r}: index names used twice: {sorted(dupes)}")
        for g in self.gsis:
            if not isinstance(g, GSI):
                raise DeclarationError(f"table {self.name!r}: gsis takes GSI(...) declarations")
        for lsi in self.lsis:
            if not isinstance(lsi, LSI):
                raise DeclarationError(f"table {self.name!r}: lsis takes LSI(...) declarations")
            if lsi.sk == self.sk:
                raise DeclarationError(
                    f"LSI {lsi.name!r} must have a sort key other than the table's ({self.sk!r})"
                )
        if self.stream is not None and self.stream not in _STREAM_VIEWS:
            raise DeclarationError(
                f"table {self.name!r}: stream must be one of {_STREAM_VIEWS} or None"
            )
        if self.billing_mode not in ("PAY_PER_REQUEST", "PROVISIONED"):
            raise DeclarationError("billing_mode must be PAY_PER_REQUEST or PROVISIONED")
        if self.billing_mode == "PROVISIONED" and not (self.read_capacity and self.write_capacity):
            raise DeclarationError(
                f"table {self.name!r}: PROVISIONED billing needs read_capacity and "
                "write_capacity (or read_autoscaling / write_autoscaling)"
            )
        check_table_class(f"table {self.name!r}", self.table_class)
        for attr, typ in self.attribute_types.items():
            if typ not in ("S", "N", "B"):
                raise DeclarationError(f"attribute type of {attr!r} must be S, N or B")
        if self.entity_attribute is not None and (
                not isinstance(self.entity_attribute, str) or not self.entity_attribute):
            raise DeclarationError(
                f"table {self.name!r}: entity_attribute is an attribute name or None, not "
                f"{self.entity_attribute!r}"
            )
        if self.entity_attribute in self.key_attributes():
            raise DeclarationError("entity_attribute cannot be a key attribute")
        _check_settings(self)
        _check_capacity(self)
        _check_replicas(self)

    # -- replicas --------------------------------------------------------------------

    def replica(self, region: str) -> Replica | None:
        """The declared replica in ``region``, or ``None``."""
        return next((r for r in self.replicas if r.region == region), None)

    def replica_table_class(self, replica: Replica | None) -> str | None:
        """A replica's table class: its own, else the table's (``None``: the table's own
        region)."""
        own = replica.table_class if replica is not None else None
        return own or self.table_class

    def replica_pitr(self, replica: Replica | None) -> bool | None:
        """A replica's point-in-time recovery: its own, else the table's."""
        if replica is not None and replica.point_in_time_recovery is not None:
            return replica.point_in_time_recovery
        return self.point_in_time_recovery

    def replica_tags(self, replica: Replica | None) -> dict[str, str] | None:
        """A replica's tags: its own, else the table's (``None``: not managed)."""
        if replica is not None and replica.tags is not None:
            return dict(replica.tags)
        return None if self.declared_tags is None else dict(self.declared_tags)

    def replica_deletion_protection(self, replica: Replica | None) -> bool:
        """A replica's deletion protection: its own, else the table's."""
        if replica is not None and replica.deletion_protection is not None:
            return replica.deletion_protection
        return self.deletion_protection

    # -- key attributes --------------------------------------------------------------

    def key_attributes(self) -> set[str]:
        """Every key attribute of the table and its indexes."""
        attrs = {self.pk}
        if self.sk:
            attrs.add(self.sk)
        for g in self.gsis:
            attrs.update(g.pk_attrs)
            attrs.update(g.sk_attrs)
        for lsi in self.lsis:
            attrs.add(lsi.sk)
        return attrs

    def attribute_type(self, name: str) -> AttributeType:
        """The declared DynamoDB type of a key attribute (``S`` unless declared otherwise)."""
        return self.attribute_types.get(name, "S")

    @property
    def indexes(self) -> list[GSI | LSI]:
        """Every secondary index, GSIs first."""
        return [*self.gsis, *self.lsis]

    def index(self, name: str) -> GSI | LSI:
        """The index called ``name``; DeclarationError when the table has none."""
        for idx in self.indexes:
            if idx.name == name:
                return idx
        known = [i.name for i in self.indexes] or "none"
        raise DeclarationError(f"table {self.name!r} has no index {name!r} (indexes: {known})")

    def index_key_attrs(self, name: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(partition attributes, sort attributes) of the table (``None``) or an index."""
        if name is None:
            return (self.pk,), ((self.sk,) if self.sk else ())
        idx = self.index(name)
        if isinstance(idx, LSI):
            return (self.pk,), (idx.sk,)
        return idx.pk_attrs, idx.sk_attrs

    # -- entity registry -------------------------------------------------------------

    def register(self, model: type[Model], entity: str) -> None:
        """Bind ``model`` to this table under ``entity`` (done at class creation)."""
        with self._lock:
            other = self._models.get(entity)
            if other is not None and _origin(other) != _origin(model):
                raise DeclarationError(
                    f"entity {entity!r} is already used by {other.__qualname__} on table "
                    f"{self.name!r}; {model.__qualname__} needs another entity name"
                )
            if self.entity_attribute is None:
                self._check_distinct(model, entity)
            self._models[entity] = model
            self.generation += 1

    def _check_distinct(self, model: type[Model], entity: str) -> None:
        """Without an entity attribute, an item's model is told by its key: two models
        whose primary key templates have the same literal text cannot be told apart."""
        mine = _shape(model)
        for name, other in self._models.items():
            if name == entity or _origin(other) == _origin(model):
                continue
            if _shape(other) == mine:
                raise DeclarationError(
                    f"{model.__qualname__} and {other.__qualname__} cannot be told apart on "
                    f"table {self.name!r}: it has no entity attribute and their primary key "
                    f"templates have the same literal text {mine!r}; give one of them "
                    "distinct literal text (e.g. a prefix) or declare an entity_attribute"
                )

    def model_for(self, entity: str) -> type[Model] | None:
        """The model registered for ``entity``, or ``None``."""
        return self._models.get(entity)

    @property
    def models(self) -> dict[str, type[Model]]:
        """Entity name -> model class, for every model bound to this table."""
        return dict(self._models)

    def build_models(self) -> None:
        """Build every model's pydantic schema now instead of on first use.

        Models build their validators when first used, so a cold start pays only for the
        models it touches; a field type pydantic cannot handle is then reported at that
        first use. Call this in a test (or at import, trading cold start for an early
        failure) to check every model of the table at once.

        Raises:
            DeclarationError: naming the model whose schema cannot be built, and why.
        """
        for entity, model in self._models.items():
            try:
                model.model_rebuild(raise_errors=True)
            except Exception as exc:  # pydantic's schema errors have no common base
                raise DeclarationError(
                    f"model {model.__name__} (entity {entity!r}) of table {self.name!r}: "
                    f"its schema cannot be built: {exc}"
                ) from exc

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, pk={self.pk!r}, sk={self.sk!r})"
