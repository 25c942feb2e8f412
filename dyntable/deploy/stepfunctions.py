"""A data migration as a Step Functions state machine: SAM resources for ``--migration NAME``.

The state machine (Amazon States Language, JSONPath)::

    Plan (Lambda: distributed.plan)         start or resume the run; list segment ranges
    Segments (Map, DISTRIBUTED)             one child execution per range, each:
        Migrate (Lambda: distributed.handler) -> Check
        Check: done -> Finished | stalled -> Stalled | stopped early -> Migrate
               | else -> Pause (Wait) -> Migrate
    Status (Lambda: distributed.status)     the run's outcome from the migration records
    Outcome: complete -> Done | else -> Incomplete (Fail)

Child executions are STANDARD (a worker invocation may last up to 15 minutes, longer than
an EXPRESS child may live). The Map discards the children's outputs (``ResultPath:
null``), so any number of ranges fits the state size limit; the status step reads the
outcome from the table. :func:`migration_resources` returns the functions, the state
machine, its role and outputs, to merge into a SAM template that holds the table.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dyntable.deploy.errors import DeployDeclarationError

if TYPE_CHECKING:
    from dyntable.migrations.data import Migration
    from dyntable.schema.table import TableSchema

__all__ = ["LAMBDA_SERVICE_ERRORS", "migration_resources", "state_machine_definition"]

#: Transient Lambda service errors the Task states retry.
LAMBDA_SERVICE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
_INVOKE = "arn:aws:states:::lambda:invoke"
_MODULE = "dyntable.migrations.distributed"
_BOOKKEEPING = "_dyntable#migrations"


def _retry(worker: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{
        "ErrorEquals": list(LAMBDA_SERVICE_ERRORS),
        "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0,
    }]
    if worker:
        # A crashed or timed-out invocation: the retry takes its leases back at once (same
        # owner) and resumes from the last checkpoint.
        out.append({"ErrorEquals": ["States.TaskFailed"],
                    "IntervalSeconds": 5, "MaxAttempts": 2, "BackoffRate": 2.0})
    return out


def _invoke(function: str, payload: dict[str, Any] | None, nxt: str, *,
            worker: bool = False) -> dict[str, Any]:
    params: dict[str, Any] = {"FunctionName": function}
    if payload is None:
        params["Payload.$"] = "$"
    else:
        params["Payload"] = payload
    return {"Type": "Task", "Resource": _INVOKE, "Parameters": params,
            "OutputPath": "$.Payload", "Retry": _retry(worker), "Next": nxt}


def state_machine_definition(
    migration_id: str,
    *,
    plan_function: str = "${PlanFunctionArn}",
    worker_function: str = "${WorkerFunctionArn}",
    status_function: str = "${StatusFunctionArn}",
    direction: str = "up",
    segments: int = 64,
    segments_per_worker: int = 4,
    concurrency: int = 16,
    tolerated_failure_percentage: float = 0,
    tolerated_failure_count: int | None = None,
    wait_seconds: int = 10,
    worker_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Amazon States Language definition (JSONPath) of one migration's state machine.

    The functions default to ``${...}`` placeholders that the state machine resource's
    ``DefinitionSubstitutions`` fill. The execution's input may override ``direction``,
    ``total_segments``, ``segments_per_worker`` and the worker options (``threads``, ``page_size``,
    ``lease_seconds``, ``stop_margin_seconds``, ``max_idle_passes``, ``rate_limit``).
    """
    plan_payload: dict[str, Any] = {
        "input.$": "$",
        "execution.$": "$$.Execution.Name",
        "migration": migration_id,
        "direction": direction,
        "total_segments": segments,
        "segments_per_worker": segments_per_worker,
        **(worker_options or {}),
    }
    item_states: dict[str, Any] = {
        "Migrate": _invoke(worker_function, None, "Check", worker=True),
        "Check": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.done", "BooleanEquals": True, "Next": "Finished"},
                {"Variable": "$.stalled", "BooleanEquals": True, "Next": "Stalled"},
                {"Variable": "$.stopped_early", "BooleanEquals": True, "Next": "Migrate"},
            ],
            "Default": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": wait_seconds, "Next": "Migrate"},
        "Finished": {"Type": "Succeed"},
        "Stalled": {"Type": "Fail", "Error": "dyntable.SegmentsHeld",
                    "Cause": "segments of this range stayed leased by another worker"},
    }
    map_state: dict[str, Any] = {
        "Type": "Map",
        "Label": "Segments",
        "ItemsPath": "$.items",
        "ItemSelector": {
            "config.$": "$.config",
            "segments.$": "$$.Map.Item.Value",
            "execution.$": "$$.Execution.Name",
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Migrate",
            "States": item_states,
        },
        "MaxConcurrency": concurrency,
        "ToleratedFailurePercentage": tolerated_failure_percentage,
        "ResultPath": None,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Status"}],
        "Next": "Status",
    }
    if tolerated_failure_count is not None:
        map_state["ToleratedFailureCount"] = tolerated_failure_count
    return {
        "Comment": f"dyntable data migration {migration_id}: plan, migrate the scan segments "
                   "in a Distributed Map, report the outcome",
        "StartAt": "Plan",
        "States": {
            "Plan": _invoke(plan_function, plan_payload, "Segments"),
            "Segments": map_state,
            "Status": _invoke(status_function, None, "Outcome"),
            "Outcome": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.complete", "BooleanEquals": True, "Next": "Done"}],
                "Default": "Incomplete",
            },
            "Done": {"Type": "Succeed"},
            "Incomplete": {"Type": "Fail", "Error": "dyntable.MigrationIncomplete",
                           "Cause": "segments are not done or items failed: see the "
                                    "Status step's output, then start the execution again"},
        },
    }


def _camel(text: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", text) if w)


def _check(name: str, value: Any, low: float, high: float, *, integer: bool = True) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        raise DeployDeclarationError(
            f"migration_resources: {name} must be {'an integer' if integer else 'a number'} "
            f"from {low:g} to {high:g}, not {value!r}")


def _table_refs(table: TableSchema, table_logical_id: str | None,
                table_name: str | None) -> tuple[Any, Any]:
    """(table name, table ARN) as CloudFormation values."""
    if table_name is not None:
        arn = {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:"
                          f"table/{table_name}"}
        return table_name, arn
    if table_logical_id is None:
        from dyntable.migrations.export import logical_id

        table_logical_id = logical_id(table)
    return {"Ref": table_logical_id}, {"Fn::GetAtt": [table_logical_id, "Arn"]}


def _bookkeeping_statements(table: TableSchema, arn: Any) -> list[dict[str, Any]]:
    """Read and write the migration's own records only (partition ``_dyntable#migrations``)."""
    if table.sk:
        return [{"Effect": "Allow",
                 "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"],
                 "Resource": arn,
                 "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys":
                                                             [_BOOKKEEPING]}}}]
    # Without a sort key every record is its own partition (``_dyntable#migrations#<name>``),
    # and listing them takes a Scan, which a LeadingKeys condition cannot confine.
    return [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
             "Resource": arn,
             "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys":
                                                       [f"{_BOOKKEEPING}#*"]}}},
            {"Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": arn}]


def _function(handler: str, *, memory: int, timeout: int, runtime: str, code_uri: str,
              env: dict[str, Any], statements: list[dict[str, Any]], description: str) \
        -> dict[str, Any]:
    return {"Type": "AWS::Serverless::Function", "Properties": {
        "Description": description,
        "Handler": f"{_MODULE}.{handler}",
        "Runtime": runtime,
        "CodeUri": code_uri,
        "MemorySize": memory,
        "Timeout": timeout,
        "Environment": {"Variables": env},
        "Policies": [{"Version": "2012-10-17", "Statement": statements}],
    }}


def migration_resources(
    table: TableSchema,
    migration: str | Migration,
    *,
    app: str,
    migrations_dir: str = "migrations",
    direction: str = "up",
    segments: int = 64,
    segments_per_worker: int = 4,
    concurrency: int = 16,
    tolerated_failure_percentage: float = 0,
    tolerated_failure_count: int | None = None,
    worker_memory: int = 1024,
    worker_timeout: int = 900,
    threads: int | None = None,
    page_size: int = 100,
    lease_seconds: float = 120,
    stop_margin_seconds: float = 60,
    wait_seconds: int = 10,
    runtime: str = "python3.12",
    code_uri: str = ".",
    table_logical_id: str | None = None,
    table_name: str | None = None,
) -> dict[str, Any]:
    """SAM template fragments running ``migration`` on AWS Step Functions.

    Args:
        table: the table declaration.
        migration: the migration (or its id, e.g. ``0003_backfill_email``).
        app: the ``module:attribute`` of the table declaration in the functions' code.
        migrations_dir: the migration files' directory in the functions' code.
        direction: ``up`` (apply) or ``down`` (revert); an execution's input may override it.
        segments: parallel-scan segments of the run (total).
        segments_per_worker: segments per Map item (one worker invocation at a time each).
        concurrency: Map items migrated at once (``MaxConcurrency``); each reads and writes
            ``threads`` segments at once, so mind the table's capacity.
        tolerated_failure_percentage / tolerated_failure_count: failed Map items tolerated
            before the Map stops (the status step still reports the outcome).
        worker_memory / worker_timeout: the worker function's MB and seconds (<= 900).
        threads, page_size, lease_seconds, stop_margin_seconds: the worker's runner options
            (``threads`` defaults to ``segments_per_worker``, at most 8).
        wait_seconds: pause before invoking a worker again whose segments another owner
            holds.
        runtime / code_uri: the functions' runtime and code (holding dyntable, the app and
            the migrations directory).
        table_logical_id: the table resource in the same template (default: the logical id
            :func:`dyntable.migrations.export.template` gives it).
        table_name: an existing table outside the template, by name (instead).

    Returns:
        ``{"Resources": {...}, "Outputs": {...}}``: the plan, worker and status functions,
        the state machine with its role, and outputs naming the state machine.
    """
    mid = migration if isinstance(migration, str) else migration.id
    if not mid or "#" in mid:
        raise DeployDeclarationError(f"migration_resources: bad migration id {mid!r}")
    if direction not in ("up", "down"):
        raise DeployDeclarationError(f"migration_resources: direction must be 'up' or 'down', "
                                     f"not {direction!r}")
    if ":" not in app:
        raise DeployDeclarationError(f"migration_resources: app must be module:attribute, "
                                     f"not {app!r}")
    _check("segments", segments, 1, 1_000_000)
    _check("segments_per_worker", segments_per_worker, 1, segments)
    _check("concurrency", concurrency, 1, 10_000)
    _check("tolerated_failure_percentage", tolerated_failure_percentage, 0, 100, integer=False)
    if tolerated_failure_count is not None:
        _check("tolerated_failure_count", tolerated_failure_count, 0, 100_000_000)
    _check("worker_memory", worker_memory, 128, 10_240)
    _check("worker_timeout", worker_timeout, 30, 900)
    _check("page_size", page_size, 1, 10_000)
    _check("wait_seconds", wait_seconds, 1, 3600)
    _check("stop_margin_seconds", stop_margin_seconds, 1, worker_timeout / 2, integer=False)
    _check("lease_seconds", lease_seconds, 10, 86_400, integer=False)
    threads = threads if threads is not None else min(segments_per_worker, 8)
    _check("threads", threads, 1, 64)

    prefix = "Migration" + _camel(mid)
    name_value, arn = _table_refs(table, table_logical_id, table_name)
    env: dict[str, Any] = {"DYNTABLE_APP": app, "DYNTABLE_MIGRATIONS": migrations_dir,
           "DYNTABLE_TABLE_NAME": name_value}
    common: dict[str, Any] = {"runtime": runtime, "code_uri": code_uri, "env": env}
    bookkeeping = _bookkeeping_statements(table, arn)
    worker_statements = [{"Effect": "Allow", "Resource": arn, "Action": [
        "dynamodb:Scan", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"]}]
    ids = {k: f"{prefix}{k}" for k in ("Plan", "Worker", "Status", "StateMachine")}
    role, self_policy = f"{prefix}StateMachineRole", f"{prefix}StateMachinePolicy"
    functions = [ids["Plan"], ids["Worker"], ids["Status"]]
    definition = state_machine_definition(
        mid, direction=direction, segments=segments, segments_per_worker=segments_per_worker,
        concurrency=concurrency, tolerated_failure_percentage=tolerated_failure_percentage,
        tolerated_failure_count=tolerated_failure_count, wait_seconds=wait_seconds,
        worker_options={"threads": threads, "page_size": page_size,
                        "lease_seconds": lease_seconds,
                        "stop_margin_seconds": stop_margin_seconds},
    )
    sm = {"Fn::GetAtt": [ids["StateMachine"], "Name"]}
    resources: dict[str, Any] = {
        ids["Plan"]: _function("plan", memory=256, timeout=120, statements=bookkeeping,
                               description=f"dyntable migration {mid}: plan", **common),
        ids["Worker"]: _function("handler", memory=worker_memory, timeout=worker_timeout,
                                 statements=worker_statements,
                                 description=f"dyntable migration {mid}: worker", **common),
        ids["Status"]: _function("status", memory=256, timeout=300, statements=bookkeeping,
                                 description=f"dyntable migration {mid}: status", **common),
        role: {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "invoke-migration-functions", "PolicyDocument": {
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "lambda:InvokeFunction",
                    "Resource": [{"Fn::GetAtt": [f, "Arn"]} for f in functions]}]}}],
        }},
        # A plain AWS::StepFunctions::StateMachine (not SAM's): cfn-lint checks its
        # Definition against the Amazon States Language schema.
        ids["StateMachine"]: {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "StateMachineType": "STANDARD",
            "Definition": definition,
            "DefinitionSubstitutions": {
                "PlanFunctionArn": {"Fn::GetAtt": [ids["Plan"], "Arn"]},
                "WorkerFunctionArn": {"Fn::GetAtt": [ids["Worker"], "Arn"]},
                "StatusFunctionArn": {"Fn::GetAtt": [ids["Status"], "Arn"]},
            },
            "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
        }},
        # The Distributed Map starts child executions of its own state machine: a policy
        # made after the state machine, so that its ARN is known without a cycle.
        self_policy: {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyName": "distributed-map-children",
            "Roles": [{"Ref": role}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "states:StartExecution",
                 "Resource": {"Ref": ids["StateMachine"]}},
                {"Effect": "Allow", "Action": ["states:DescribeExecution",
                                               "states:StopExecution"],
                 "Resource": {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:"
                                         "${AWS::AccountId}:execution:${" + ids["StateMachine"]
                                         + ".Name}/*"}},
            ]},
        }},
    }
    outputs = {
        f"{prefix}StateMachineArn": {
            "Description": f"Start an execution to run migration {mid} ({direction})",
            "Value": {"Ref": ids["StateMachine"]}},
        f"{prefix}StateMachineName": {"Value": sm},
        f"{prefix}WorkerFunction": {"Value": {"Ref": ids["Worker"]}},
    }
    return {"Resources": resources, "Outputs": outputs}
