"""The application as a SAM template: table, functions with their policies, API, stream mapping.

The table's resources come from :func:`dyntable.migrations.export.table_resources` (the
same ones ``dyntable export sam`` writes for a bare table); each function's inline policy comes
from :mod:`dyntable.deploy.iam`; the stream mapping's filter is computed from the models
named in :class:`~dyntable.deploy.app.StreamEvents`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dyntable.deploy.errors import DeployDeclarationError
from dyntable.deploy.iam import (
    TemplateArns,
    execution_policy,
    policy_document,
    tenant_trust_policy,
)

if TYPE_CHECKING:
    from dyntable.deploy.app import Api, Application, Function, StreamEvents
    from dyntable.schema.table import TableSchema

__all__ = ["application_template", "stream_filters"]

_API = "Api"
_POOL = "UserPool"
_CLIENT = "UserPoolClient"
_POOL_ARN_PARAM = "UserPoolArn"
_CLIENT_PARAM = "UserPoolClientId"
_AUTHORIZER = "CognitoAuthorizer"
_ACCOUNT_ROOT = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}


def stream_filters(table: TableSchema, events: StreamEvents) -> list[dict[str, str]]:
    """Lambda ``FilterCriteria.Filters`` passing only the records ``events`` asks for.

    A record passes when any filter matches. By model: an insert or modification is matched
    on the entity attribute of its ``NewImage``, a removal on its ``OldImage`` (one filter
    each, as the stream view and ``event_names`` need). By kind: ``eventName``.
    """
    kinds = sorted(events.event_names)
    if not events.models:
        return [{"Pattern": _pattern({"eventName": kinds})}] if kinds else []
    attr = table.entity_attribute
    if attr is None:
        raise DeployDeclarationError(
            f"table {table.name!r} has no entity attribute: stream records cannot be "
            "filtered by model (drop StreamEvents.models)")
    view = table.stream or ""
    wanted = set(kinds or ("INSERT", "MODIFY", "REMOVE"))
    images = []
    if wanted & {"INSERT", "MODIFY"} and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        images.append(("NewImage", sorted(wanted & {"INSERT", "MODIFY"})))
    if "REMOVE" in wanted and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        images.append(("OldImage", ["REMOVE"]))
    if not images:
        raise DeployDeclarationError(
            f"table {table.name!r} streams {table.stream}: its records carry no item image "
            f"for {sorted(wanted)} to filter by model (drop StreamEvents.models or stream "
            "item images)")
    entities = sorted({m.__dyntable__.entity for m in events.models})
    out = []
    for image, names in images:
        pattern: dict[str, Any] = {"dynamodb": {image: {attr: {"S": entities}}}}
        if kinds:
            pattern["eventName"] = names
        out.append({"Pattern": _pattern(pattern)})
    return out


def _pattern(pattern: dict[str, Any]) -> str:
    return json.dumps(pattern, separators=(",", ":"))


def _stream_event(app: Application, events: StreamEvents, table_id: str) -> dict[str, Any]:
    props: dict[str, Any] = {
        "Stream": {"Fn::GetAtt": [table_id, "StreamArn"]},
        "StartingPosition": events.starting_position,
        "BatchSize": events.batch_size,
        "BisectBatchOnFunctionError": events.bisect_on_error,
        "MaximumRetryAttempts": events.maximum_retry_attempts,
    }
    if events.maximum_batching_window is not None:
        props["MaximumBatchingWindowInSeconds"] = events.maximum_batching_window
    if events.report_batch_item_failures:
        props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    filters = stream_filters(app.table, events)
    if filters:
        props["FilterCriteria"] = {"Filters": filters}
    return {"Type": "DynamoDB", "Properties": props}


def _route_events(api: Api, fn: Function) -> dict[str, Any]:
    events: dict[str, Any] = {}
    for n, route in enumerate(fn.routes, 1):
        method, path = route.split(" ", 1)
        if api.kind == "rest":
            props = {"RestApiId": {"Ref": _API}, "Path": path, "Method": method.lower()}
            events[f"Route{n}"] = {"Type": "Api", "Properties": props}
        else:
            props = {"ApiId": {"Ref": _API}, "Path": path, "Method": method}
            events[f"Route{n}"] = {"Type": "HttpApi", "Properties": props}
    return events


def _function(app: Application, fn: Function, table_id: str,
              resources: dict[str, Any]) -> dict[str, Any]:
    arns = TemplateArns(table_id)
    env: dict[str, Any] = {"TABLE_NAME": {"Ref": table_id}, **fn.environment}
    props: dict[str, Any] = {
        "Handler": fn.handler, "CodeUri": fn.code_uri, "Runtime": fn.runtime,
        "MemorySize": fn.memory_size, "Timeout": fn.timeout, "Architectures": [fn.architecture],
    }
    data = policy_document(app, fn, arns)
    if fn.tenant is not None and fn.tenant.mode == "assume_role":
        role_id = fn.logical_id + "TenantRole"
        resources[role_id] = {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": tenant_trust_policy(fn.tenant, _ACCOUNT_ROOT),
            "Policies": [{"PolicyName": "tenant-items", "PolicyDocument": data}],
        }}
        role_arn = {"Fn::GetAtt": [role_id, "Arn"]}
        env["TENANT_ROLE_ARN"] = role_arn
        env["TENANT_TAG"] = fn.tenant.tag
        props["Policies"] = [execution_policy(role_arn)]
    else:
        props["Policies"] = [data]
    props["Environment"] = {"Variables": env}
    events: dict[str, Any] = {}
    if fn.routes and app.api is not None:
        events.update(_route_events(app.api, fn))
    if fn.stream is not None:
        events["Stream"] = _stream_event(app, fn.stream, table_id)
    if events:
        props["Events"] = events
    resource: dict[str, Any] = {"Type": "AWS::Serverless::Function", "Properties": props}
    if fn.build_method is not None:
        resource["Metadata"] = {"BuildMethod": fn.build_method}
    return resource


def _user_pool(api: Api, resources: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Add the user pool (or its parameters); return how the authorizer names it."""
    if api.auth.user_pool_arn == "parameter":
        params[_POOL_ARN_PARAM] = {
            "Type": "String", "AllowedPattern": "arn:[a-z-]+:cognito-idp:.+:userpool/.+",
            "Description": "ARN of the Cognito user pool whose users may call the API"}
        pool_id = {"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": _POOL_ARN_PARAM}]}]}
        out = {"arn": {"Ref": _POOL_ARN_PARAM}, "id": pool_id}
        if api.kind == "http":
            params[_CLIENT_PARAM] = {"Type": "String",
                                     "Description": "The user pool's app client id"}
            out["client"] = {"Ref": _CLIENT_PARAM}
        return out
    resources[_POOL] = {"Type": "AWS::Cognito::UserPool", "Properties": {
        "UsernameAttributes": ["email"], "AutoVerifiedAttributes": ["email"],
        "Schema": [{"Name": api.auth.tenant_attribute, "AttributeDataType": "String",
                    "Mutable": False}],
    }}
    resources[_CLIENT] = {"Type": "AWS::Cognito::UserPoolClient", "Properties": {
        "UserPoolId": {"Ref": _POOL}, "GenerateSecret": False,
        "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        # the tenant attribute is set by an administrator, never by the user
        "WriteAttributes": ["email"],
    }}
    return {"arn": {"Fn::GetAtt": [_POOL, "Arn"]}, "id": {"Ref": _POOL},
            "client": {"Ref": _CLIENT}}


def _api(api: Api, resources: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    pool = _user_pool(api, resources, params)
    if api.kind == "rest":
        auth = {"DefaultAuthorizer": _AUTHORIZER,
                "Authorizers": {_AUTHORIZER: {"UserPoolArn": pool["arn"]}}}
        resources[_API] = {"Type": "AWS::Serverless::Api",
                           "Properties": {"StageName": api.stage, "Auth": auth}}
        url = f"https://${{{_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{api.stage}/"
    else:
        issuer = {"Fn::Sub": ["https://cognito-idp.${AWS::Region}.amazonaws.com/${PoolId}",
                              {"PoolId": pool["id"]}]}
        auth = {"DefaultAuthorizer": _AUTHORIZER, "Authorizers": {_AUTHORIZER: {
            "IdentitySource": "$request.header.Authorization",
            "JwtConfiguration": {"issuer": issuer, "audience": [pool["client"]]}}}}
        resources[_API] = {"Type": "AWS::Serverless::HttpApi", "Properties": {"Auth": auth}}
        url = f"https://${{{_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/"
    outputs: dict[str, Any] = {
        "ApiUrl": {"Description": "Base URL of the API", "Value": {"Fn::Sub": url}},
        "UserPoolId": {"Description": "The Cognito user pool id", "Value": pool["id"]},
    }
    if "client" in pool and api.auth.user_pool_arn is None:
        outputs["UserPoolClientId"] = {"Description": "The user pool's app client id",
                                       "Value": pool["client"]}
    return outputs


def application_template(
    app: Application,
    *,
    table_name: str | None = None,
    migrations: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The SAM template (``Transform: AWS::Serverless-2016-10-31``) of the application.

    Args:
        app: the application declaration.
        table_name: TableName in the template (default: the declaration's).
        migrations: extra ``{"Resources": ..., "Outputs": ...}`` fragments to merge (the
            Step Functions migration resources).

    Raises:
        TenantIsolationError: see :func:`~dyntable.deploy.iam.policy_document`.
    """
    from dyntable.migrations.export import SAM_TRANSFORM, logical_id, table_resources

    table_id = logical_id(app.table)
    params: dict[str, Any] = {}
    # the table (AWS::DynamoDB::Table or ::GlobalTable) and its auto scaling, if any
    resources = table_resources(app.table, table_name=table_name, lid=table_id)
    outputs: dict[str, Any] = {
        "TableName": {"Description": "The DynamoDB table", "Value": {"Ref": table_id}},
        "TableArn": {"Description": "The table's ARN", "Value": {"Fn::GetAtt": [table_id, "Arn"]}},
    }
    if app.api is not None:
        outputs.update(_api(app.api, resources, params))
    for fn in app.functions:
        resources[fn.logical_id] = _function(app, fn, table_id, resources)
    if migrations:
        _merge(params, migrations.get("Parameters", {}), "parameter")
        _merge(resources, migrations.get("Resources", {}), "resource")
        _merge(outputs, migrations.get("Outputs", {}), "output")
    out: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Transform": SAM_TRANSFORM,
                           "Description": app.description
                           or f"{app.table.name}: serverless application (exported by dyntable)"}
    if params:
        out["Parameters"] = params
    out["Resources"] = resources
    out["Outputs"] = outputs
    # A fresh tree: no object appears twice (YAML would write anchors and aliases for it).
    return dict(json.loads(json.dumps(out)))


def _merge(into: dict[str, Any], extra: dict[str, Any], what: str) -> None:
    for name, value in extra.items():
        if name in into:
            raise DeployDeclarationError(f"the migration's {what} {name!r} clashes with the "
                                         "application's")
        into[name] = value
