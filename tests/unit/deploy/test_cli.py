"""``dyntable export iam`` and ``dyntable export sam`` with an Application."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dyntable.deploy import application_template
from dyntable.migrations.export import template, to_yaml
from tests.models import shop
from tests.unit.deploy.apps import application
from tests.unit.deploy.lint import cfn_lint

click_testing = pytest.importorskip("click.testing")
yaml = pytest.importorskip("yaml")

from dyntable.cli.main import main  # noqa: E402

APP = "tests.unit.deploy.apps:application"


def _run(*args: str) -> tuple[int, str]:
    result = click_testing.CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_export_sam_of_an_application_and_of_a_table(tmp_path: Path) -> None:
    out = tmp_path / "template.yaml"
    code, _ = _run("export", "sam", "--app", APP, "-o", str(out))
    assert code == 0
    assert out.read_text() == to_yaml(application_template(application))
    code, text = _run("export", "sam", "--app", "tests.models:shop")
    assert code == 0 and text == to_yaml(template(shop, sam=True))  # today's table-only export


def test_export_sam_refuses_other_objects() -> None:
    code, out = _run("export", "sam", "--app", "tests.unit.deploy.apps:Order")
    assert code == 1 and "not a dyntable Table or Application" in out


def test_export_sam_with_a_migration() -> None:
    code, out = _run("export", "sam", "--app", APP, "--migration", "0001_backfill")
    assert code == 0, out
    assert cfn_lint(out) == []
    doc = yaml.safe_load(out)
    assert {"ApiFunction", "StreamFunction", "SaasShopTable"} <= set(doc["Resources"])
    added = set(doc["Resources"]) - set(application_template(application)["Resources"])
    assert added and all(name.startswith("Migration") for name in added)
    envs = [doc["Resources"][n]["Properties"].get("Environment", {}).get("Variables", {})
            for n in added]
    # The workers load the table from the module defining it (found from the application).
    assert {e["DYNTABLE_APP"] for e in envs if "DYNTABLE_APP" in e} == {
        "tests.unit.deploy.apps:saas"}
    code, out = _run("export", "sam", "--app", "tests.models:shop", "--migration", "0002_y")
    assert code == 0, out
    doc = yaml.safe_load(out)
    assert "ShopTable" in doc["Resources"]
    assert any(name.startswith("Migration") for name in doc["Resources"])
    assert {e["Properties"]["Environment"]["Variables"]["DYNTABLE_APP"]
            for e in doc["Resources"].values() if e["Type"] == "AWS::Serverless::Function"} == {
        "tests.models:shop"}


def test_export_iam() -> None:
    code, out = _run("export", "iam", "--app", APP, "--function", "api", "--region", "eu-west-1",
                     "--account-id", "123456789012")
    assert code == 0
    doc = json.loads(out)
    for st in doc["Statement"]:
        assert st["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        assert all(r.startswith("arn:aws:dynamodb:eu-west-1:123456789012:table/saas-shop")
                   for r in st["Resource"])
    code, out = _run("export", "iam", "--app", APP, "--function", "api", "--document", "trust",
                     "--account-id", "123456789012")
    assert code == 0
    assert json.loads(out)["Statement"][0]["Principal"] == {
        "AWS": "arn:aws:iam::123456789012:root"}
    code, out = _run("export", "iam", "--app", APP, "--function", "api", "--document",
                     "execution", "--tenant-role-arn", "arn:aws:iam::123456789012:role/t")
    assert code == 0 and json.loads(out)["Statement"][0]["Resource"] == [
        "arn:aws:iam::123456789012:role/t"]


@pytest.mark.parametrize(("args", "message"), [
    (("--function", "nope", "--region", "r", "--account-id", "1"), "no function 'nope'"),
    (("--function", "api", "--region", "r"), "--account-id"),
    (("--function", "stream", "--document", "trust", "--account-id", "1"),
     "not tenant-isolated"),
    (("--function", "api", "--document", "execution"), "--tenant-role-arn"),
])
def test_export_iam_errors(args: tuple[str, ...], message: str, monkeypatch: pytest.MonkeyPatch,
                           ) -> None:
    monkeypatch.delenv("AWS_ACCOUNT_ID", raising=False)
    code, out = _run("export", "iam", "--app", APP, *args)
    assert code != 0 and message in out
    assert out.strip().count("\n") == 0
    code, out = _run("export", "iam", "--app", "tests.models:shop", "--function", "api")
    assert code == 1 and "not a dyntable.deploy.Application" in out
