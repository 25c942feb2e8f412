"""Production table settings: encryption, throughput limits, auto scaling and replicas.

These are plain frozen values given to :class:`~dyntable.Table`; each checks itself when
made, and the table checks how they combine (see ``TableSchema``). The requests that apply
them are built in :mod:`dyntable._internal.operations.tables`, the CloudFormation properties
in :mod:`dyntable.migrations.export`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from dyntable.errors import DeclarationError

__all__ = [
    "TABLE_CLASSES",
    "AutoScaling",
    "Encryption",
    "OnDemandThroughput",
    "Replica",
    "check_table_class",
    "check_tags",
]

TABLE_CLASSES = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")
EncryptionKind = Literal["AWS_OWNED", "AWS_MANAGED", "CUSTOMER_MANAGED"]
_KINDS = ("AWS_OWNED", "AWS_MANAGED", "CUSTOMER_MANAGED")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def check_table_class(owner: str, value: str | None) -> None:
    """DeclarationError unless ``value`` is ``None`` or a DynamoDB table class."""
    if value is not None and value not in TABLE_CLASSES:
        raise DeclarationError(f"{owner}: table_class must be one of {TABLE_CLASSES}, "
                               f"not {value!r}")


def check_tags(owner: str, tags: Mapping[str, str] | None) -> dict[str, str] | None:
    """The tags as a dict; DeclarationError on what DynamoDB refuses (at most 50, keys of
    1-128 characters not starting with ``aws:``, values up to 256 characters)."""
    if tags is None:
        return None
    out = dict(tags)
    if len(out) > 50:
        raise DeclarationError(f"{owner}: at most 50 tags, not {len(out)}")
    for key, value in out.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise DeclarationError(f"{owner}: tag keys are 1 to 128 characters, not {key!r}")
        if key.startswith("aws:"):
            raise DeclarationError(f"{owner}: tag key {key!r}: the aws: prefix is AWS's own")
        if not isinstance(value, str) or len(value) > 256:
            raise DeclarationError(
                f"{owner}: tag {key!r}: values are strings up to 256 characters, not {value!r}")
    return out


def _positive(owner: str, name: str, value: int | None) -> None:
    if value is not None and (type(value) is not int or value < 1):
        raise DeclarationError(f"{owner}: {name} must be a positive int, not {value!r}")


@dataclass(frozen=True)
class Encryption:
    """Server-side encryption at rest.

    ``AWS_OWNED`` (DynamoDB's default, no charge), ``AWS_MANAGED`` (the account's
    ``aws/dynamodb`` KMS key) or ``CUSTOMER_MANAGED`` with ``kms_key``: a key id, ARN,
    alias name (``alias/orders``) or alias ARN. Prefer the constructors
    :meth:`aws_owned`, :meth:`aws_managed` and :meth:`customer_managed`.
    """

    kind: EncryptionKind = "AWS_OWNED"
    kms_key: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise DeclarationError(f"Encryption: kind must be one of {_KINDS}, not {self.kind!r}")
        if self.kind == "CUSTOMER_MANAGED":
            if not isinstance(self.kms_key, str) or not self.kms_key:
                raise DeclarationError("Encryption: CUSTOMER_MANAGED needs kms_key (a key id, "
                                       "key ARN, alias name or alias ARN)")
        elif self.kms_key is not None:
            raise DeclarationError(
                f"Encryption: a kms_key ({self.kms_key!r}) is only used with CUSTOMER_MANAGED "
                f"encryption, not {self.kind}; use Encryption.customer_managed(key)")

    @classmethod
    def aws_owned(cls) -> Encryption:
        """A key DynamoDB owns (the default)."""
        return cls("AWS_OWNED")

    @classmethod
    def aws_managed(cls) -> Encryption:
        """The account's AWS managed key ``aws/dynamodb``."""
        return cls("AWS_MANAGED")

    @classmethod
    def customer_managed(cls, kms_key: str) -> Encryption:
        """A KMS key of the account (id, ARN, alias name or alias ARN)."""
        return cls("CUSTOMER_MANAGED", kms_key)

    @property
    def key_is_arn(self) -> bool:
        """True when ``kms_key`` is a key ARN, which names a key of one region only."""
        return bool(self.kms_key) and str(self.kms_key).startswith("arn:") and \
            ":key/" in str(self.kms_key)


@dataclass(frozen=True)
class OnDemandThroughput:
    """Maximum request units per second of an on-demand table or GSI (``None``: no limit)."""

    max_read_units: int | None = None
    max_write_units: int | None = None

    def __post_init__(self) -> None:
        _positive("OnDemandThroughput", "max_read_units", self.max_read_units)
        _positive("OnDemandThroughput", "max_write_units", self.max_write_units)
        if self.max_read_units is None and self.max_write_units is None:
            raise DeclarationError("OnDemandThroughput: give max_read_units and/or "
                                   "max_write_units")


@dataclass(frozen=True)
class AutoScaling:
    """Target tracking for one capacity dimension of a provisioned table or GSI.

    Application Auto Scaling keeps consumed capacity near ``target_utilization`` percent
    (20-90) of the provisioned capacity, between ``min_capacity`` and ``max_capacity``.
    Cooldowns are in seconds.
    """

    min_capacity: int
    max_capacity: int
    target_utilization: float = 70.0
    scale_in_cooldown: int | None = None
    scale_out_cooldown: int | None = None
    disable_scale_in: bool = False

    def __post_init__(self) -> None:
        _positive("AutoScaling", "min_capacity", self.min_capacity)
        _positive("AutoScaling", "max_capacity", self.max_capacity)
        if self.max_capacity < self.min_capacity:
            raise DeclarationError(f"AutoScaling: max_capacity {self.max_capacity} is below "
                                   f"min_capacity {self.min_capacity}")
        if isinstance(self.target_utilization, bool) or \
                not isinstance(self.target_utilization, (int, float)) or \
                not 20 <= self.target_utilization <= 90:
            raise DeclarationError("AutoScaling: target_utilization is a percentage from 20 "
                                   f"to 90, not {self.target_utilization!r}")
        for name in ("scale_in_cooldown", "scale_out_cooldown"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 0):
                raise DeclarationError(f"AutoScaling: {name} is a number of seconds, "
                                       f"not {value!r}")


@dataclass(frozen=True)
class Replica:
    """A replica of a global table (version 2019.11.21) in another region.

    Settings left ``None`` follow the table's own (table class, point-in-time recovery,
    tags, deletion protection). ``kms_key`` is the replica's key when the table uses a
    customer managed key (keys belong to one region). ``read_capacity`` /
    ``read_autoscaling`` override read capacity on a provisioned table, ``max_read_units``
    the on-demand read maximum; writes are the same in every region.
    """

    region: str
    table_class: str | None = None
    kms_key: str | None = None
    point_in_time_recovery: bool | None = None
    read_capacity: int | None = None
    read_autoscaling: AutoScaling | None = None
    max_read_units: int | None = None
    tags: Mapping[str, str] | None = field(default=None, hash=False)
    deletion_protection: bool | None = None

    def __post_init__(self) -> None:
        owner = f"Replica {self.region!r}"
        if not isinstance(self.region, str) or not _REGION.match(self.region):
            raise DeclarationError(f"{owner}: region must be a region name such as "
                                   "'eu-west-1'")
        check_table_class(owner, self.table_class)
        if self.kms_key is not None and (not isinstance(self.kms_key, str) or not self.kms_key):
            raise DeclarationError(f"{owner}: kms_key must be a key id, ARN or alias")
        _positive(owner, "read_capacity", self.read_capacity)
        _positive(owner, "max_read_units", self.max_read_units)
        if self.read_capacity is not None and self.read_autoscaling is not None:
            raise DeclarationError(f"{owner}: give read_capacity or read_autoscaling, not both")
        object.__setattr__(self, "tags", check_tags(owner, self.tags))
