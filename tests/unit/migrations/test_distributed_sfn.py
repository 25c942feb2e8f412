"""The migration's state machine (Amazon States Language) and its SAM resources, linted."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from dyntable import Table
from dyntable.deploy.errors import DeployDeclarationError
from dyntable.deploy.stepfunctions import (
    LAMBDA_SERVICE_ERRORS,
    migration_resources,
    state_machine_definition,
)
from dyntable.migrations.export import logical_id, template, to_yaml
from tests.models import shop

yaml = pytest.importorskip("yaml")

TERMINAL = ("Succeed", "Fail")


def _targets(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    for catch in state.get("Catch", []):
        yield catch["Next"]


def check_asl(machine: dict[str, Any], where: str = "") -> None:
    """A structural check of one (sub-)machine: StartAt exists, every transition names a
    state of the same scope, every state is reachable, each non-terminal state moves on,
    some state ends, Map processors are checked recursively."""
    states = machine["States"]
    assert machine["StartAt"] in states, where
    seen, todo = set(), [machine["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        state = states[name]
        targets = list(_targets(state))
        for target in targets:
            assert target in states, f"{where}{name} -> {target}: no such state"
        todo += targets
        terminal = state["Type"] in TERMINAL or state.get("End") is True
        assert terminal != ("Next" in state or state["Type"] == "Choice"), f"{where}{name}"
        if state["Type"] == "Map":
            check_asl(state["ItemProcessor"], f"{where}{name}/")
    assert seen == set(states), f"{where}unreachable: {set(states) - seen}"
    assert any(s["Type"] in TERMINAL or s.get("End") for s in states.values()), where


def _resources(table: Table = shop, **settings: Any) -> dict[str, Any]:
    settings.setdefault("app", "tests.models:shop")
    return migration_resources(table, "0003_backfill_email", **settings)


def _state_machine(fragment: dict[str, Any]) -> dict[str, Any]:
    (sm,) = [r for r in fragment["Resources"].values()
             if r["Type"] == "AWS::StepFunctions::StateMachine"]
    return dict(sm["Properties"])


def test_definition_is_plan_distributed_map_status() -> None:
    d = state_machine_definition("0003_backfill_email", segments=32, segments_per_worker=2,
                                 concurrency=5, tolerated_failure_percentage=10,
                                 tolerated_failure_count=3)
    check_asl(d)
    assert d["StartAt"] == "Plan"
    assert d["States"]["Plan"]["Next"] == "Segments"
    seg = d["States"]["Segments"]
    assert seg["Type"] == "Map" and "ItemReader" not in seg
    assert seg["ItemsPath"] == "$.items"  # the plan's output
    assert seg["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED",
                                                       "ExecutionType": "STANDARD"}
    assert (seg["MaxConcurrency"], seg["ToleratedFailurePercentage"],
            seg["ToleratedFailureCount"]) == (5, 10, 3)
    assert seg["ResultPath"] is None  # results stay out of the 256 KB state
    assert seg["Next"] == "Status" and seg["Catch"][0]["Next"] == "Status"
    plan = d["States"]["Plan"]["Parameters"]["Payload"]
    assert (plan["total_segments"], plan["segments_per_worker"]) == (32, 2)
    assert plan["execution.$"] == "$$.Execution.Name" and plan["input.$"] == "$"
    outcome = d["States"]["Outcome"]
    assert d["States"][outcome["Choices"][0]["Next"]]["Type"] == "Succeed"
    assert d["States"][outcome["Default"]]["Type"] == "Fail"
    json.dumps(d)  # plain JSON


def test_worker_loops_until_it_reports_done() -> None:
    states = state_machine_definition("0001_x")["States"]["Segments"]["ItemProcessor"]["States"]
    check = states["Check"]
    by_field = {c["Variable"]: c["Next"] for c in check["Choices"]}
    assert states[by_field["$.done"]]["Type"] == "Succeed"
    assert states[by_field["$.stalled"]]["Type"] == "Fail"
    assert by_field["$.stopped_early"] == "Migrate"  # out of time: invoke again at once
    assert states[check["Default"]]["Type"] == "Wait"  # segments held: wait, then again
    assert states[check["Default"]]["Next"] == "Migrate"
    assert states["Migrate"]["Parameters"] == {"FunctionName": "${WorkerFunctionArn}",
                                               "Payload.$": "$"}
    assert states["Migrate"]["OutputPath"] == "$.Payload"  # the result is the next input


def test_every_task_retries_lambda_service_errors() -> None:
    d = state_machine_definition("0001_x")
    tasks = {**d["States"], **d["States"]["Segments"]["ItemProcessor"]["States"]}
    invokes = {n: s for n, s in tasks.items() if s["Type"] == "Task"}
    assert set(invokes) == {"Plan", "Migrate", "Status"}
    for name, task in invokes.items():
        assert task["Resource"] == "arn:aws:states:::lambda:invoke"
        assert task["Retry"][0]["ErrorEquals"] == list(LAMBDA_SERVICE_ERRORS), name
    # Only the worker also retries its own failures (it resumes from its checkpoint).
    assert [r["ErrorEquals"] for r in invokes["Migrate"]["Retry"]][1] == ["States.TaskFailed"]
    assert len(invokes["Plan"]["Retry"]) == len(invokes["Status"]["Retry"]) == 1


def test_resources_wire_functions_state_machine_and_outputs() -> None:
    frag = _resources(concurrency=7, tolerated_failure_percentage=5, worker_memory=2048,
                      worker_timeout=600, segments=128, segments_per_worker=8)
    res = frag["Resources"]
    prefix = "Migration0003BackfillEmail"
    assert {k for k, r in res.items() if r["Type"] == "AWS::Serverless::Function"} == {
        f"{prefix}Plan", f"{prefix}Worker", f"{prefix}Status"}
    worker = res[f"{prefix}Worker"]["Properties"]
    assert worker["Handler"] == "dyntable.migrations.distributed.handler"
    assert (worker["MemorySize"], worker["Timeout"]) == (2048, 600)
    assert worker["Environment"]["Variables"] == {
        "DYNTABLE_APP": "tests.models:shop", "DYNTABLE_MIGRATIONS": "migrations",
        "DYNTABLE_TABLE_NAME": {"Ref": logical_id(shop)}}
    assert res[f"{prefix}Plan"]["Properties"]["Handler"].endswith(".plan")
    assert res[f"{prefix}Status"]["Properties"]["Handler"].endswith(".status")
    sm = _state_machine(frag)
    assert sm["StateMachineType"] == "STANDARD"
    assert set(sm["DefinitionSubstitutions"]) == {
        "PlanFunctionArn", "WorkerFunctionArn", "StatusFunctionArn"}
    text = json.dumps(sm["Definition"])
    for name in sm["DefinitionSubstitutions"]:
        assert "${" + name + "}" in text
    seg = sm["Definition"]["States"]["Segments"]
    assert (seg["MaxConcurrency"], seg["ToleratedFailurePercentage"]) == (7, 5)
    assert sm["Definition"]["States"]["Plan"]["Parameters"]["Payload"]["threads"] == 8
    assert frag["Outputs"][f"{prefix}StateMachineArn"]["Value"] == {
        "Ref": f"{prefix}StateMachine"}


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    props = resource["Properties"]
    if resource["Type"] == "AWS::Serverless::Function":
        return [s for p in props["Policies"] for s in p["Statement"]]
    if resource["Type"] == "AWS::IAM::Role":
        return [s for p in props["Policies"] for s in p["PolicyDocument"]["Statement"]]
    return list(props["PolicyDocument"]["Statement"])


def test_policies_are_least_privilege() -> None:
    res = _resources()["Resources"]
    prefix = "Migration0003BackfillEmail"
    table_arn = {"Fn::GetAtt": [logical_id(shop), "Arn"]}
    for resource in res.values():
        if resource["Type"] not in ("AWS::Serverless::Function", "AWS::IAM::Role",
                                    "AWS::IAM::Policy"):
            continue
        for st in _statements(resource):
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert all("*" not in a for a in actions)
            assert "*" not in json.dumps(st["Resource"]).replace("/*", "")
    (worker,) = _statements(res[f"{prefix}Worker"])
    assert sorted(worker["Action"]) == ["dynamodb:GetItem", "dynamodb:Query",
                                        "dynamodb:Scan", "dynamodb:UpdateItem"]
    assert worker["Resource"] == table_arn  # the table, not its indexes
    for step in ("Plan", "Status"):  # only the migration's own records
        (st,) = _statements(res[f"{prefix}{step}"])
        assert "dynamodb:Scan" not in st["Action"]
        assert st["Condition"] == {"ForAllValues:StringEquals": {
            "dynamodb:LeadingKeys": ["_dyntable#migrations"]}}
    (invoke,) = _statements(res[f"{prefix}StateMachineRole"])
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert {r["Fn::GetAtt"][0] for r in invoke["Resource"] if "Fn::GetAtt" in r} == {
        f"{prefix}Plan", f"{prefix}Worker", f"{prefix}Status"}
    start, children = _statements(res[f"{prefix}StateMachinePolicy"])
    assert start == {"Effect": "Allow", "Action": "states:StartExecution",
                     "Resource": {"Ref": f"{prefix}StateMachine"}}
    assert children["Resource"]["Fn::Sub"].endswith(
        ":execution:${Migration0003BackfillEmailStateMachine.Name}/*")


def test_table_without_sort_key_lists_records_by_scan() -> None:
    plain = Table("plain", pk="id", sk=None)
    res = _resources(plain)["Resources"]
    conditioned, scan = _statements(res["Migration0003BackfillEmailPlan"])
    assert conditioned["Condition"] == {"ForAllValues:StringLike": {
        "dynamodb:LeadingKeys": ["_dyntable#migrations#*"]}}
    assert scan["Action"] == ["dynamodb:Scan"]


def test_existing_table_by_name() -> None:
    res = _resources(table_name="shop-prod")["Resources"]
    worker = res["Migration0003BackfillEmailWorker"]["Properties"]
    assert worker["Environment"]["Variables"]["DYNTABLE_TABLE_NAME"] == "shop-prod"
    (st,) = _statements(res["Migration0003BackfillEmailWorker"])
    assert st["Resource"]["Fn::Sub"].endswith(":table/shop-prod")


@pytest.mark.parametrize(("settings", "message"), [
    ({"worker_timeout": 901}, "worker_timeout must be an integer from 30 to 900"),
    ({"worker_memory": 64}, "worker_memory"),
    ({"concurrency": 0}, "concurrency"),
    ({"tolerated_failure_percentage": 101}, "tolerated_failure_percentage"),
    ({"segments": 8, "segments_per_worker": 9}, "segments_per_worker"),
    ({"stop_margin_seconds": 500}, "stop_margin_seconds"),
    ({"direction": "left"}, "direction"),
    ({"app": "no_colon"}, "module:attribute"),
])
def test_bad_settings_are_declaration_errors(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(DeployDeclarationError, match=message):
        _resources(**settings)


def _lint(doc: dict[str, Any]) -> list[str]:
    api = pytest.importorskip("cfnlint.api",
                              reason="cfn-lint is not installed (it is in the dev extra)")
    return [str(m) for m in api.lint(to_yaml(doc))]


def _full_template(**settings: Any) -> dict[str, Any]:
    doc = template(shop, sam=True)
    frag = _resources(**settings)
    doc["Resources"].update(frag["Resources"])
    doc["Outputs"].update(frag["Outputs"])
    return doc


def test_full_template_passes_cfn_lint() -> None:
    doc = _full_template(tolerated_failure_count=2, concurrency=50)
    assert _lint(doc) == []
    assert yaml.safe_load(to_yaml(doc))["Resources"][logical_id(shop)]["Type"] == \
        "AWS::DynamoDB::Table"


def test_cfn_lint_checks_the_definition() -> None:
    """The lint above is a real check of the ASL: a broken definition is reported."""
    doc = _full_template()
    broken = copy.deepcopy(doc)
    (sm,) = [r for r in broken["Resources"].values()
             if r["Type"] == "AWS::StepFunctions::StateMachine"]
    sm["Properties"]["Definition"]["States"]["Segments"]["Type"] = "Mapp"
    findings = _lint(broken)
    assert any("E3601" in f and "Mapp" in f for f in findings), findings
