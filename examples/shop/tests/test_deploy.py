"""The shop's deployment: the committed template is current and lints clean, and the API
function's policy confines it to the caller's tenant with no wildcard action or resource."""

from __future__ import annotations

from pathlib import Path

import pytest
from shopapi.deploy import application

from dyntable.deploy import LiteralArns, TemplateArns, application_template, policy_document
from dyntable.migrations.export import to_yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
ARNS = LiteralArns("shop", "eu-west-1", "123456789012")
TENANT_KEY = "TENANT#${aws:PrincipalTag/tenant}#"


def test_the_committed_template_is_a_fresh_export() -> None:
    pytest.importorskip("yaml")
    fresh = to_yaml(application_template(application))
    assert TEMPLATE.read_text(encoding="utf-8") == fresh, (
        "template.yaml is stale: in examples/shop run "
        "`dyntable export sam --app shopapi.deploy:application -o template.yaml`")


def test_the_template_passes_cfn_lint() -> None:
    api = pytest.importorskip(
        "cfnlint.api", reason="cfn-lint is not installed (it is in the dev extra)")
    findings = [str(m) for m in api.lint(TEMPLATE.read_text(encoding="utf-8"))]
    assert findings == []


def test_the_api_policy_is_confined_to_the_tenant() -> None:
    doc = policy_document(application, "api", ARNS)
    assert doc["Statement"]
    for statement in doc["Statement"]:
        keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert keys and all(k.startswith(TENANT_KEY) for k in keys), keys
        for value in (*statement["Action"], *statement["Resource"]):
            assert "*" not in value, value
        assert "dynamodb:Scan" not in statement["Action"]
    actions = {a for st in doc["Statement"] for a in st["Action"]}
    assert actions == {f"dynamodb:{a}" for a in (
        "GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem")}
    resources = {r for st in doc["Statement"] for r in st["Resource"]}
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/shop"
    assert resources == {table, f"{table}/index/GSI1", f"{table}/index/GSI2"}


def test_the_deployed_api_function_can_only_assume_the_tenant_role() -> None:
    pytest.importorskip("yaml")
    import yaml

    resources = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))["Resources"]
    (own,) = resources["ApiFunction"]["Properties"]["Policies"]
    (statement,) = own["Statement"]
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert statement["Resource"] == [{"Fn::GetAtt": ["ApiFunctionTenantRole", "Arn"]}]
    role = resources["ApiFunctionTenantRole"]["Properties"]
    (data,) = role["Policies"]
    assert data["PolicyDocument"] == policy_document(application, "api", TemplateArns("ShopTable"))
