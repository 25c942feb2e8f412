"""The application template: table from the migrations export, functions with their inline
policies, API with the Cognito authorizer, stream mapping, outputs; and it passes cfn-lint."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dyntable import Table
from dyntable._internal.operations.tables import create_table_params, ttl_params
from dyntable.deploy import (
    Access,
    Application,
    DeployDeclarationError,
    Function,
    StreamEvents,
    application_template,
)
from dyntable.deploy.sam import stream_filters
from dyntable.migrations.export import SAM_TRANSFORM, create_params_of, table_resource, to_yaml
from tests.unit.deploy.apps import Order, Product, application, http_application, saas
from tests.unit.deploy.lint import cfn_lint

yaml = pytest.importorskip("yaml")


def _doc(app: Application, **kw: Any) -> dict[str, Any]:
    return dict(yaml.safe_load(to_yaml(application_template(app, **kw))))


@pytest.mark.parametrize("app", [application, http_application], ids=["rest", "http"])
def test_the_template_passes_cfn_lint(app: Application) -> None:
    text = to_yaml(application_template(app))
    assert "&id" not in text  # no YAML anchors: each value written where it is used
    assert cfn_lint(text) == []


def test_cfn_lint_does_catch_a_broken_template() -> None:
    doc = application_template(application)
    doc["Resources"]["StreamFunction"]["Properties"]["Events"]["Stream"]["Properties"][
        "StartingPosition"] = "EARLIEST"
    del doc["Resources"]["SaasShopTable"]["Properties"]["KeySchema"]
    assert len(cfn_lint(to_yaml(doc))) >= 1


def test_the_table_is_the_migrations_export_and_round_trips() -> None:
    doc = _doc(application)
    assert doc["Transform"] == SAM_TRANSFORM
    assert doc["Resources"]["SaasShopTable"] == table_resource(saas)
    params, ttl = create_params_of(doc["Resources"]["SaasShopTable"])
    assert params == create_table_params(saas)
    assert ttl == ttl_params(saas)  # None: the test table declares no TTL
    renamed = _doc(application, table_name="prod-shop")
    assert renamed["Resources"]["SaasShopTable"]["Properties"]["TableName"] == "prod-shop"


def test_functions_policies_and_tenant_role() -> None:
    res = _doc(application)["Resources"]
    api = res["ApiFunction"]["Properties"]
    assert api["Handler"] == "app.api.handler" and api["CodeUri"] == "src"
    assert (api["Runtime"], api["MemorySize"], api["Timeout"], api["Architectures"]) == (
        "python3.12", 256, 10, ["arm64"])
    env = api["Environment"]["Variables"]
    assert env["TABLE_NAME"] == {"Ref": "SaasShopTable"}
    assert env["TENANT_ROLE_ARN"] == {"Fn::GetAtt": ["ApiFunctionTenantRole", "Arn"]}
    # The function's own role may only assume the tenant role (with the tenant tag).
    (own,) = api["Policies"]
    assert own["Statement"] == [{"Sid": "AssumeTenantRole", "Effect": "Allow",
                                 "Action": ["sts:AssumeRole", "sts:TagSession"],
                                 "Resource": [env["TENANT_ROLE_ARN"]]}]
    role = res["ApiFunctionTenantRole"]["Properties"]
    (data,) = role["Policies"]
    for st in data["PolicyDocument"]["Statement"]:
        assert "dynamodb:LeadingKeys" in st["Condition"]["ForAllValues:StringLike"]
        for r in st["Resource"]:
            assert r in ({"Fn::GetAtt": ["SaasShopTable", "Arn"]},
                         {"Fn::Sub": "${SaasShopTable.Arn}/index/GSI1"})
    assert api["Events"] == {"Route1": {"Type": "Api", "Properties": {
        "RestApiId": {"Ref": "Api"}, "Path": "/{proxy+}", "Method": "any"}}}
    stream = res["StreamFunction"]["Properties"]
    (policy,) = stream["Policies"]
    sids = [st["Sid"] for st in policy["Statement"]]
    assert sids == ["Items1", "StreamRead", "StreamList"]
    assert policy["Statement"][1]["Resource"] == [{"Fn::GetAtt": ["SaasShopTable", "StreamArn"]}]
    assert "TENANT_ROLE_ARN" not in stream["Environment"]["Variables"]


def test_stream_event_source_mapping() -> None:
    props = _doc(application)["Resources"]["StreamFunction"]["Properties"]["Events"]["Stream"]
    assert props["Type"] == "DynamoDB"
    p = props["Properties"]
    assert p["Stream"] == {"Fn::GetAtt": ["SaasShopTable", "StreamArn"]}
    assert (p["BatchSize"], p["BisectBatchOnFunctionError"], p["MaximumRetryAttempts"],
            p["StartingPosition"], p["FunctionResponseTypes"]) == (
        50, True, 3, "LATEST", ["ReportBatchItemFailures"])
    patterns = [json.loads(f["Pattern"]) for f in p["FilterCriteria"]["Filters"]]
    assert patterns == [{"dynamodb": {"NewImage": {"_entity": {"S": ["order"]}}}},
                        {"dynamodb": {"OldImage": {"_entity": {"S": ["order"]}}}}]


def test_stream_filters_follow_the_stream_view() -> None:
    for view, images in [("NEW_IMAGE", ["NewImage"]), ("OLD_IMAGE", ["OldImage"])]:
        table = Table(f"t-{view.lower().replace('_', '-')}", stream=view)  # type: ignore[arg-type]
        patterns = [json.loads(f["Pattern"]) for f in stream_filters(
            table, StreamEvents(models=(Order, Product)))]
        assert [next(iter(p["dynamodb"])) for p in patterns] == images
        assert next(iter(patterns[0]["dynamodb"].values())) == {
            "_entity": {"S": ["order", "product"]}}
    by_kind = [json.loads(f["Pattern"]) for f in stream_filters(
        saas, StreamEvents(models=(Order,), event_names=("INSERT",)))]
    assert by_kind == [{"dynamodb": {"NewImage": {"_entity": {"S": ["order"]}}},
                        "eventName": ["INSERT"]}]  # no OldImage filter: removals not wanted
    assert [json.loads(f["Pattern"]) for f in stream_filters(
        saas, StreamEvents(event_names=("REMOVE", "MODIFY")))] == [
        {"eventName": ["MODIFY", "REMOVE"]}]
    with pytest.raises(DeployDeclarationError, match="no item image for \\['REMOVE'\\]"):
        stream_filters(Table("t-new-only", stream="NEW_IMAGE"),
                       StreamEvents(models=(Order,), event_names=("REMOVE",)))
    with pytest.raises(DeployDeclarationError, match="event_names are"):
        StreamEvents(event_names=("PUT",))  # type: ignore[arg-type]
    with pytest.raises(DeployDeclarationError, match="carry no item image"):
        stream_filters(Table("t-keys", stream="KEYS_ONLY"), StreamEvents(models=(Order,)))
    with pytest.raises(DeployDeclarationError, match="no entity attribute"):
        stream_filters(Table("t-noent", stream="NEW_IMAGE", entity_attribute=None),
                       StreamEvents(models=(Order,)))
    assert stream_filters(saas, StreamEvents()) == []


def test_api_auth_and_outputs() -> None:
    rest = _doc(application)
    assert rest["Resources"]["Api"]["Properties"]["Auth"] == {
        "DefaultAuthorizer": "CognitoAuthorizer",
        "Authorizers": {"CognitoAuthorizer": {"UserPoolArn": {"Fn::GetAtt": ["UserPool", "Arn"]}}}}
    schema = rest["Resources"]["UserPool"]["Properties"]["Schema"]
    assert schema == [{"Name": "tenant", "AttributeDataType": "String", "Mutable": False}]
    assert set(rest["Outputs"]) == {"TableName", "TableArn", "ApiUrl", "UserPoolId",
                                    "UserPoolClientId"}
    assert "/prod/" in rest["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    http = _doc(http_application)
    assert set(http["Parameters"]) == {"UserPoolArn", "UserPoolClientId"}
    assert "UserPool" not in http["Resources"]
    auth = http["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]["CognitoAuthorizer"]
    assert auth["JwtConfiguration"]["audience"] == [{"Ref": "UserPoolClientId"}]
    assert http["Resources"]["ApiFunction"]["Properties"]["Events"]["Route1"]["Type"] == "HttpApi"


def test_migration_fragments_merge_and_clash() -> None:
    extra = {"Resources": {"MigrationMachine": {"Type": "AWS::Serverless::StateMachine"}},
             "Outputs": {"MigrationArn": {"Value": "x"}}}
    doc = application_template(application, migrations=extra)
    assert "MigrationMachine" in doc["Resources"] and "MigrationArn" in doc["Outputs"]
    with pytest.raises(DeployDeclarationError, match="clashes"):
        application_template(application, migrations={"Outputs": {"TableArn": {"Value": 1}}})


def test_application_declaration_errors() -> None:
    fn = Function("f", "m.h", access=[Access(Order, read=True)], routes=["GET /orders"])
    with pytest.raises(DeployDeclarationError, match="has no api=Api"):
        Application(table=saas, functions=[fn])
    with pytest.raises(DeployDeclarationError, match="declares none"):
        Application(table=Table("no-stream-t"), functions=[
            Function("s", "m.h", stream=StreamEvents())])
    with pytest.raises(DeployDeclarationError, match="belongs to table 'saas-shop'"):
        Application(table=Table("other-t"), functions=[
            Function("f", "m.h", access=[Access(Order, read=True)])])
    with pytest.raises(DeployDeclarationError, match="same logical id"):
        Application(table=saas, functions=[Function("a-b", "m.h"), Function("a_b", "m.h")])
    with pytest.raises(DeployDeclarationError, match="not 'METHOD /path'"):
        Function("f", "m.h", routes=["/orders"])
    with pytest.raises(DeployDeclarationError, match="cannot be tenant-isolated"):
        from tests.unit.deploy.apps import TENANT
        Function("f", "m.h", stream=StreamEvents(), tenant=TENANT)


def test_a_global_table_with_production_settings_lints_clean() -> None:
    from dyntable.schema.settings import Replica

    table = Table("global-shop", stream="NEW_AND_OLD_IMAGES", point_in_time_recovery=True,
                  deletion_protection=True, replicas=[Replica("eu-west-1"), "us-west-2"])
    app = Application(table=table, functions=[
        Function("s", "m.h", stream=StreamEvents(), access=[])])
    doc = application_template(app)
    assert doc["Resources"]["GlobalShopTable"]["Type"] == "AWS::DynamoDB::GlobalTable"
    assert doc["Resources"]["SFunction"]["Properties"]["Events"]["Stream"]["Properties"][
        "Stream"] == {"Fn::GetAtt": ["GlobalShopTable", "StreamArn"]}
    assert cfn_lint(to_yaml(doc)) == []


def test_a_makefile_build_is_declared_in_the_functions_metadata() -> None:
    fn = Function("f", "m.h", access=[Access(Order, read=True)], build_method="makefile")
    plain = Function("g", "m.h", access=[Access(Order, read=True)])
    app = Application(table=saas, functions=[fn, plain])
    doc = _doc(app)
    assert doc["Resources"][fn.logical_id]["Metadata"] == {"BuildMethod": "makefile"}
    assert "Metadata" not in doc["Resources"][plain.logical_id]
    assert cfn_lint(to_yaml(doc)) == []
    with pytest.raises(DeployDeclarationError, match="build_method is 'makefile' or None"):
        Function("h", "m.h", build_method="zip")  # type: ignore[arg-type]
