"""Least-privilege IAM policies from an application declaration.

A function's :class:`~dyntable.deploy.app.Access` list gives the DynamoDB actions it needs on
the table and on each index; its :class:`~dyntable.deploy.app.TenantIsolation` adds a
``dynamodb:LeadingKeys`` condition derived from the models' partition key templates:
``TENANT#{tenant}#CUSTOMER#{id}`` becomes ``TENANT#${aws:PrincipalTag/tenant}#*``. What the
condition cannot confine (a Scan, PartiQL, a key that does not start with the tenant) is
refused with :class:`~dyntable.deploy.errors.TenantIsolationError`, never silently granted.

Resources are named by an :class:`Arns` strategy: :class:`LiteralArns` writes ARN strings
(``dyntable export iam``), :class:`TemplateArns` writes CloudFormation references (SAM).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from dyntable.deploy.errors import DeployDeclarationError, TenantIsolationError

if TYPE_CHECKING:
    from dyntable._internal.schema.spec import KeySpec, ModelSpec
    from dyntable._internal.schema.templates import Template
    from dyntable.deploy.app import Access, Application, Function, TenantIsolation

__all__ = [
    "STREAM_ACTIONS",
    "Arns",
    "LiteralArns",
    "TemplateArns",
    "access_actions",
    "check_isolation",
    "execution_policy",
    "leading_key_patterns",
    "policy_document",
    "tenant_trust_policy",
]

POLICY_VERSION = "2012-10-17"
#: What reading the table's stream needs (ListStreams is granted on the table's streams).
STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
_LIST_STREAMS = "dynamodb:ListStreams"

# A resource before it is named: ("table",), ("index", NAME), ("stream",), ("streams",)
_Res = tuple[str, ...]
_TABLE: _Res = ("table",)


class Arns(Protocol):
    """How a policy names the table, its indexes and its stream."""

    def table(self) -> Any:
        """The table's ARN."""

    def index(self, name: str) -> Any:
        """An index's ARN (``.../table/NAME/index/INDEX``)."""

    def stream(self) -> Any:
        """The stream's ARN."""

    def streams(self) -> Any:
        """Every stream of the table (what ListStreams is granted on)."""


@dataclass(frozen=True)
class LiteralArns:
    """ARN strings for a table in one account and region.

    ``stream_label`` (the stream ARN's last part, e.g. ``2026-11-30T19:18:10.123``) is known
    only once the stream exists; without it the stream ARN ends in ``stream/*``.
    """

    table_name: str
    region: str
    account: str
    partition: str = "aws"
    stream_label: str | None = None

    def table(self) -> str:
        """``arn:aws:dynamodb:REGION:ACCOUNT:table/NAME``."""
        return (f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:"
                f"table/{self.table_name}")

    def index(self, name: str) -> str:
        """``.../table/NAME/index/INDEX``."""
        return f"{self.table()}/index/{name}"

    def stream(self) -> str:
        """``.../table/NAME/stream/LABEL``."""
        return f"{self.table()}/stream/{self.stream_label or '*'}"

    def streams(self) -> str:
        """``.../table/NAME/stream/*``."""
        return f"{self.table()}/stream/*"


@dataclass(frozen=True)
class TemplateArns:
    """CloudFormation references to the table resource ``logical_id`` of the same template."""

    logical_id: str

    def table(self) -> dict[str, Any]:
        """``!GetAtt Table.Arn``."""
        return {"Fn::GetAtt": [self.logical_id, "Arn"]}

    def index(self, name: str) -> dict[str, Any]:
        """``!Sub ${Table.Arn}/index/INDEX``."""
        return {"Fn::Sub": f"${{{self.logical_id}.Arn}}/index/{name}"}

    def stream(self) -> dict[str, Any]:
        """``!GetAtt Table.StreamArn``."""
        return {"Fn::GetAtt": [self.logical_id, "StreamArn"]}

    def streams(self) -> dict[str, Any]:
        """``!Sub ${Table.Arn}/stream/*``."""
        return {"Fn::Sub": f"${{{self.logical_id}.Arn}}/stream/*"}


# -- actions ------------------------------------------------------------------------------


def _wanted(access: Access) -> list[tuple[bool, tuple[str, ...]]]:
    a = access
    return [
        (a.read, ("GetItem", "Query")),
        (a.read and a.batch, ("BatchGetItem",)),
        (a.read and a.partiql, ("PartiQLSelect",)),
        (a.write, ("PutItem", "UpdateItem")),
        (a.write and a.partiql, ("PartiQLInsert", "PartiQLUpdate")),
        (a.delete, ("DeleteItem",)),
        (a.delete and a.partiql, ("PartiQLDelete",)),
        (a.batch and (a.write or a.delete), ("BatchWriteItem",)),
        # TransactWriteItems / TransactGetItems are authorised per item action.
        (a.transactions, ("ConditionCheckItem",)),
        (a.scan, ("Scan",)),
    ]


def access_actions(access: Access) -> dict[_Res, set[str]]:
    """The DynamoDB actions one :class:`Access` needs, per resource (table or index)."""
    table = {name for wanted, names in _wanted(access) if wanted for name in names}
    on_index = {name for wanted, names in [
        (access.read, ("Query",)),
        (access.read and access.partiql, ("PartiQLSelect",)),
        (access.scan, ("Scan",)),
    ] if wanted for name in names}
    out: dict[_Res, set[str]] = {_TABLE: table}
    for index in access.indexes:
        out[("index", index)] = on_index
    return {res: {f"dynamodb:{a}" for a in acts} for res, acts in out.items() if acts}


# -- tenant isolation ---------------------------------------------------------------------

def _escape(literal: str) -> str:
    """A template literal as StringLike text: ``*``, ``?`` and ``$`` match only themselves."""
    return "".join({"*": "${*}", "?": "${?}", "$": "${$}"}.get(c, c) for c in literal)


def _tenant_pattern(template: Template, tenant: TenantIsolation) -> str | None:
    """``TENANT#{tenant}#ORDER#{id}`` -> ``TENANT#${aws:PrincipalTag/tenant}#*``; ``None``
    when the template does not start with the tenant field (after an optional literal)."""
    if not template.fields or template.fields[0] != tenant.field:
        return None
    head = _escape(template.literals[0]) + tenant.policy_variable
    if len(template.fields) == 1:
        return head + _escape(template.literals[1])
    # A separator always follows the field (templates require one between fields), and no
    # tenant value may contain it: the pattern cannot reach another tenant's keys.
    return head + _escape(template.literals[1]) + "*"


def _shared_pattern(template: Template) -> str | None:
    """``PRODUCT#{sku}`` -> ``PRODUCT#*``; ``None`` for a template starting with a field."""
    if not template.fields:
        return _escape(template.literals[0])
    if not template.literals[0]:
        return None
    return _escape(template.literals[0]) + "*"


def _where(spec: ModelSpec, key: KeySpec) -> str:
    place = f"index {key.index!r}" if key.index else "the table"
    return f"{spec.model.__name__}'s partition key on {place} ({key.pk_template.source!r})"


def _key_pattern(access: Access, key: KeySpec, tenant: TenantIsolation) -> str:
    spec = access.model.__dyntable__
    if access.shared:
        pattern = _shared_pattern(key.pk_template)
        if pattern is None:
            raise TenantIsolationError(
                f"{_where(spec, key)} starts with a field: as a shared model its keys would "
                "match '*', every tenant's items; give the template a literal prefix "
                "(e.g. 'PRODUCT#{sku}')")
        return pattern
    if key.native and len(key.pk_templates) > 1:
        raise TenantIsolationError(
            f"{_where(spec, key)}: dynamodb:LeadingKeys sees only the first attribute of a "
            "multi-attribute partition key")
    pattern = _tenant_pattern(key.pk_template, tenant)
    if pattern is None:
        raise TenantIsolationError(
            f"{_where(spec, key)} does not start with the tenant field {{{tenant.field}}}: "
            "dynamodb:LeadingKeys cannot confine it to one tenant. Start the template with "
            f"the tenant (e.g. 'TENANT#{{{tenant.field}}}#...'), mark the access "
            "shared=True for data common to all tenants, or leave this function without "
            "tenant=")
    return pattern


def leading_key_patterns(access: Access, tenant: TenantIsolation) -> dict[_Res, str]:
    """The ``dynamodb:LeadingKeys`` pattern of one access, per resource (table or index).

    Raises:
        TenantIsolationError: the access cannot be confined to the caller's tenant.
    """
    spec = access.model.__dyntable__
    name = spec.model.__name__
    if access.scan or access.partiql:
        what = "Scan" if access.scan else "PartiQL"
        raise TenantIsolationError(
            f"Access({name}) uses {what} under tenant isolation: the request carries no "
            "partition key, so dynamodb:LeadingKeys (ForAllValues) does not restrict it and "
            "every tenant's items would be readable; query by partition instead")
    if spec.unique_fields and (access.write or access.delete) and not access.shared:
        raise TenantIsolationError(
            f"{name} has unique fields {list(spec.unique_fields)}: their guard items are keyed "
            "outside the tenant ('_dyntable#unique#...'), so writing it cannot be confined "
            "to one tenant")
    out = {_TABLE: _key_pattern(access, spec.primary, tenant)}
    for index in access.indexes:
        out[("index", index)] = _key_pattern(access, spec.indexes[index], tenant)
    return out


def _check_shared(patterns: Iterable[tuple[str, bool]], tenant: TenantIsolation) -> None:
    """A shared prefix must not reach into a protected one (``""`` reaches everything)."""
    marker = tenant.policy_variable
    protected = {p.split(marker, 1)[0] for p, shared in patterns if not shared}
    for pattern, shared in patterns:
        if not shared:
            continue
        prefix = pattern.rstrip("*")
        for head in protected:
            if head.startswith(prefix) or prefix.startswith(head):
                raise TenantIsolationError(
                    f"the shared key pattern {pattern!r} overlaps the tenant keys starting "
                    f"with {head + marker!r}: a tenant could reach another tenant's items "
                    "through it; give shared and tenant templates distinct literal prefixes")


# -- documents ----------------------------------------------------------------------------


def _grants(fn: Function) -> dict[tuple[_Res, str], set[tuple[str, bool]]]:
    """(resource, action) -> the LeadingKeys patterns allowed for it (empty: unconditioned)."""
    grants: dict[tuple[_Res, str], set[tuple[str, bool]]] = {}
    for access in fn.access:
        patterns = leading_key_patterns(access, fn.tenant) if fn.tenant is not None else {}
        for res, actions in access_actions(access).items():
            for action in actions:
                slot = grants.setdefault((res, action), set())
                if res in patterns:
                    slot.add((patterns[res], access.shared))
    if fn.tenant is not None:
        _check_shared({p for ps in grants.values() for p in ps}, fn.tenant)
    return grants


def check_isolation(fn: Function) -> None:
    """Raise TenantIsolationError when ``fn``'s access cannot be confined to one tenant."""
    _grants(fn)


def _statements(fn: Function, arns: Arns) -> list[dict[str, Any]]:
    grants = _grants(fn)
    by_resource: dict[tuple[_Res, frozenset[str]], set[str]] = {}
    for (res, action), ps in grants.items():
        pats = frozenset(p for p, _ in ps)
        by_resource.setdefault((res, pats), set()).add(action)
    merged: dict[tuple[frozenset[str], frozenset[str]], list[_Res]] = {}
    for (res, pats), actions in by_resource.items():
        merged.setdefault((frozenset(actions), pats), []).append(res)
    out = []
    ordered = sorted(merged.items(), key=lambda kv: (sorted(kv[1]), sorted(kv[0][0])))
    for n, ((acts, keys), resources) in enumerate(ordered, 1):
        statement: dict[str, Any] = {
            "Sid": f"Items{n}", "Effect": "Allow", "Action": sorted(acts),
            "Resource": [_name(arns, r) for r in sorted(resources)],
        }
        if keys:
            statement["Condition"] = {
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": sorted(keys)}}
        out.append(statement)
    if fn.stream is not None:
        out.append({"Sid": "StreamRead", "Effect": "Allow", "Action": list(STREAM_ACTIONS),
                    "Resource": [arns.stream()]})
        out.append({"Sid": "StreamList", "Effect": "Allow", "Action": [_LIST_STREAMS],
                    "Resource": [arns.streams()]})
    return out


def _name(arns: Arns, res: _Res) -> Any:
    return arns.table() if res == _TABLE else arns.index(res[1])


def policy_document(app: Application, function: str | Function, arns: Arns) -> dict[str, Any]:
    """The policy granting one function's DynamoDB access, and nothing else.

    Under tenant isolation every item statement carries the ``dynamodb:LeadingKeys``
    condition; with ``mode="assume_role"`` this is the tenant role's policy (the function's
    own role gets :func:`execution_policy`).

    Raises:
        TenantIsolationError: an access cannot be confined to the caller's tenant.
        DeployDeclarationError: the function grants nothing.
    """
    fn = app.function(function) if isinstance(function, str) else function
    statements = _statements(fn, arns)
    if not statements:
        raise DeployDeclarationError(
            f"function {fn.name!r} declares no access and no stream: its policy would be empty")
    return {"Version": POLICY_VERSION, "Statement": statements}


def execution_policy(tenant_role_arn: Any) -> dict[str, Any]:
    """The function role's policy in the assume-role pattern: assume the tenant role, with
    the tenant as session tag, and nothing else."""
    return {"Version": POLICY_VERSION, "Statement": [{
        "Sid": "AssumeTenantRole", "Effect": "Allow",
        "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": [tenant_role_arn],
    }]}


def tenant_trust_policy(tenant: TenantIsolation, account_root: Any) -> dict[str, Any]:
    """The tenant role's trust policy: principals of the account that IAM allows to assume
    it (only the function's role is), and only with exactly the tenant session tag set."""
    return {"Version": POLICY_VERSION, "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": account_root},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {
            "StringLike": {f"aws:RequestTag/{tenant.tag}": "?*"},
            "ForAllValues:StringEquals": {"aws:TagKeys": [tenant.tag]},
        },
    }]}
