"""Least-privilege policies from the declaration: actions per access, ARNs, LeadingKeys."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest

from dyntable import Key, Model, Table, Unique
from dyntable.deploy import (
    Access,
    Application,
    DeployDeclarationError,
    Function,
    LiteralArns,
    TenantIsolation,
    TenantIsolationError,
    policy_document,
)
from dyntable.deploy.iam import access_actions, leading_key_patterns, tenant_trust_policy
from tests.unit.deploy.apps import TENANT, Counter, Customer, Order, Product, application, saas

ARNS = LiteralArns("saas-shop", "eu-west-1", "123456789012")
TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/saas-shop"
VAR = "${aws:PrincipalTag/tenant}"


def _actions(**flags: Any) -> dict[tuple[str, ...], set[str]]:
    return {res: {a.removeprefix("dynamodb:") for a in acts}
            for res, acts in access_actions(Access(Order, **flags)).items()}


@pytest.mark.parametrize(("flags", "table", "index"), [
    ({"read": True}, {"GetItem", "Query"}, None),
    ({"read": True, "batch": True}, {"GetItem", "Query", "BatchGetItem"}, None),
    ({"write": True}, {"PutItem", "UpdateItem"}, None),
    ({"write": True, "batch": True}, {"PutItem", "UpdateItem", "BatchWriteItem"}, None),
    ({"delete": True}, {"DeleteItem"}, None),
    ({"delete": True, "batch": True}, {"DeleteItem", "BatchWriteItem"}, None),
    ({"write": True, "transactions": True}, {"PutItem", "UpdateItem", "ConditionCheckItem"}, None),
    ({"read": True, "transactions": True}, {"GetItem", "Query", "ConditionCheckItem"}, None),
    ({"scan": True}, {"Scan"}, None),
    ({"read": True, "indexes": ("GSI1",)}, {"GetItem", "Query"}, {"Query"}),
    ({"scan": True, "indexes": ("GSI2",)}, {"Scan"}, {"Scan"}),
    ({"read": True, "write": True, "delete": True, "partiql": True},
     {"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "PartiQLSelect",
      "PartiQLInsert", "PartiQLUpdate", "PartiQLDelete"}, None),
], ids=lambda v: "-".join(sorted(v)) if isinstance(v, dict) else None)
def test_exact_actions_per_access(flags: dict[str, Any], table: set[str],
                                  index: set[str] | None) -> None:
    got = _actions(**flags)
    assert got.pop(("table",)) == table
    if index is None:
        assert got == {}
    else:
        ((res, actions),) = got.items()
        assert res[0] == "index" and actions == index


def _statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    assert doc["Version"] == "2012-10-17"
    return list(doc["Statement"])


def _no_star(doc: dict[str, Any]) -> None:
    for st in doc["Statement"]:
        for value in (*st["Action"], *st["Resource"]):
            assert "*" not in value, value


def test_tenant_policy_has_the_leading_keys_condition_on_every_statement() -> None:
    doc = policy_document(application, "api", ARNS)
    _no_star(doc)
    by_resource: dict[str, dict[str, set[str]]] = {}
    for st in _statements(doc):
        assert st["Effect"] == "Allow"
        keys = st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert set(st["Condition"]) == {"ForAllValues:StringLike"}
        for res in st["Resource"]:
            for action in st["Action"]:
                by_resource.setdefault(res, {})[action] = set(keys)
    tenant_keys = {f"TENANT#{VAR}#CUSTOMER#*"}
    assert by_resource[TABLE] == {
        "dynamodb:GetItem": tenant_keys | {"PRODUCT#*"},   # Product is shared, read only
        "dynamodb:Query": tenant_keys | {"PRODUCT#*"},
        "dynamodb:PutItem": tenant_keys, "dynamodb:UpdateItem": tenant_keys,
        "dynamodb:DeleteItem": tenant_keys, "dynamodb:ConditionCheckItem": tenant_keys,
    }
    assert by_resource[TABLE + "/index/GSI1"] == {
        "dynamodb:Query": {f"TENANT#{VAR}#EMAIL", f"TENANT#{VAR}#STATUS#*"}}
    assert set(by_resource) == {TABLE, TABLE + "/index/GSI1"}  # GSI2 is not granted


def test_stream_function_policy() -> None:
    doc = policy_document(application, "stream", ARNS)
    sts = {st["Sid"]: st for st in _statements(doc)}
    assert sts["Items1"]["Resource"] == [TABLE] and "Condition" not in sts["Items1"]
    assert sts["StreamRead"]["Action"] == [
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    labelled = LiteralArns("saas-shop", "eu-west-1", "123456789012",
                           stream_label="2026-11-30T19:18:10.123")
    doc = policy_document(application, "stream", labelled)
    sts = {st["Sid"]: st for st in _statements(doc)}
    assert sts["StreamRead"]["Resource"] == [TABLE + "/stream/2026-11-30T19:18:10.123"]
    # ListStreams is granted on the table's streams, never on "*".
    assert sts["StreamList"] == {"Sid": "StreamList", "Effect": "Allow",
                                 "Action": ["dynamodb:ListStreams"],
                                 "Resource": [TABLE + "/stream/*"]}


def test_pattern_shapes() -> None:
    assert leading_key_patterns(Access(Counter, read=True), TENANT) == {("table",): f"TENANT#{VAR}"}
    cognito = TenantIsolation(variable="${cognito-identity.amazonaws.com:sub}")
    assert leading_key_patterns(Access(Customer, read=True, indexes=("GSI1",)), cognito) == {
        ("table",): "TENANT#${cognito-identity.amazonaws.com:sub}#CUSTOMER#*",
        ("index", "GSI1"): "TENANT#${cognito-identity.amazonaws.com:sub}#EMAIL"}


def _fn(*access: Access, tenant: TenantIsolation | None = TENANT) -> Application:
    """The application is checked when it is made: refusals come from here."""
    return Application(table=saas, functions=[Function("f", "m.h", access=access,
                                                       tenant=tenant)])


@pytest.mark.parametrize(("access", "words"), [
    (Access(Product, read=True), ["Product's partition key on the table", "'PRODUCT#{sku}'",
                                  "does not start with the tenant field {tenant}"]),
    (Access(Order, read=True, indexes=("GSI2",)),
     ["Order's partition key on index 'GSI2'", "'STATUS#{status}'"]),
    (Access(Order, scan=True), ["Scan", "no partition key"]),
    (Access(Order, read=True, partiql=True), ["PartiQL"]),
])
def test_what_leading_keys_cannot_protect_is_refused(access: Access, words: list[str]) -> None:
    with pytest.raises(TenantIsolationError) as info:
        _fn(access)
    for word in words:
        assert word in str(info.value)
    # Without tenant isolation the same access is granted, unconditioned.
    doc = policy_document(_fn(access, tenant=None), "f", ARNS)
    assert all("Condition" not in st for st in doc["Statement"])


def test_shared_models_must_not_reach_tenant_keys() -> None:
    table = Table("overlap-t", stream=None)

    class Mine(Model, table=table, entity="mine"):
        tenant: str
        n: str
        primary = Key(pk="T#{tenant}#N#{n}", sk="X")

    class Everyone(Model, table=table, entity="everyone"):
        n: str
        primary = Key(pk="T#{n}", sk="Y")

    class Loose(Model, table=table, entity="loose"):
        n: str
        primary = Key(pk="{n}", sk="Z")

    with pytest.raises(TenantIsolationError, match="overlaps the tenant keys"):
        Application(table=table, functions=[Function("a", "m.h", tenant=TENANT, access=[
            Access(Mine, read=True), Access(Everyone, read=True, shared=True)])])
    with pytest.raises(TenantIsolationError, match="starts with a field"):
        Application(table=table, functions=[Function("b", "m.h", tenant=TENANT, access=[
            Access(Loose, read=True, shared=True)])])
    # Each is granted in a function that is not tenant-isolated.
    app = Application(table=table, functions=[Function("c", "m.h", access=[
        Access(Mine, read=True), Access(Everyone, read=True), Access(Loose, read=True)])])
    assert policy_document(app, "c", ARNS)["Statement"]


def test_unique_fields_and_wildcards_in_templates() -> None:
    table = Table("odd-t")

    class Starry(Model, table=table, entity="starry"):
        tenant: str
        n: str
        primary = Key(pk="A*B?{tenant}", sk="{n}")

    class Member(Model, table=table, entity="member"):
        tenant: str
        member_id: str
        email: Annotated[str, Unique]
        primary = Key(pk="TENANT#{tenant}#MEMBER", sk="{member_id}")

    (pattern,) = leading_key_patterns(Access(Starry, read=True), TENANT).values()
    assert pattern == "A${*}B${?}" + VAR  # literal * and ? never act as wildcards
    assert leading_key_patterns(Access(Member, read=True), TENANT)
    with pytest.raises(TenantIsolationError, match="guard items are keyed outside the tenant"):
        leading_key_patterns(Access(Member, read=True, write=True), TENANT)


def test_declaration_errors() -> None:
    with pytest.raises(DeployDeclarationError, match="grants nothing"):
        Access(Order)
    with pytest.raises(DeployDeclarationError, match="no key on index 'LSI9'"):
        Access(Order, read=True, indexes=("LSI9",))
    with pytest.raises(DeployDeclarationError, match="needs read=True"):
        Access(Order, write=True, indexes=("GSI1",))
    with pytest.raises(DeployDeclarationError, match="no function 'nope'"):
        application.function("nope")
    with pytest.raises(DeployDeclarationError, match="policy would be empty"):
        policy_document(_fn(tenant=None), "f", ARNS)
    with pytest.raises(DeployDeclarationError, match="one IAM policy variable"):
        TenantIsolation(variable="tenant")


def test_trust_policy_requires_exactly_the_tenant_tag() -> None:
    doc = tenant_trust_policy(TENANT, "arn:aws:iam::123456789012:root")
    (st,) = doc["Statement"]
    assert st["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert st["Condition"] == {"StringLike": {"aws:RequestTag/tenant": "?*"},
                               "ForAllValues:StringEquals": {"aws:TagKeys": ["tenant"]}}
    json.dumps(doc)
