"""NoSQL Workbench data models: the documented structure, and import -> export round trips.

The structure checked here is the one AWS documents for Workbench data-model files (see
dyntable/design/workbench.py for the pages).
"""

from __future__ import annotations

import json
import re
import sys
import types
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from dyntable import GSI, Key, Model, Table
from dyntable._internal.codec.items import codec_for
from dyntable.design.inference import infer_template
from dyntable.design.model import build_design
from dyntable.design.workbench import to_workbench
from dyntable.design.workbench_import import workbench_to_source
from dyntable.schema.table import TableSchema
from tests.unit.design.shop import shop_design

WHEN = datetime(2026, 11, 30, 17, 5, tzinfo=timezone.utc)
LIBRARY = Path(__file__).with_name("library_workbench.json")
KEY_TYPES = {"S", "N", "B"}
TYPES = KEY_TYPES | {"BOOL", "NULL", "M", "L", "SS", "NS", "BS"}


def _attribute(value: Any) -> None:
    assert set(value) == {"AttributeName", "AttributeType"}
    assert isinstance(value["AttributeName"], str) and value["AttributeName"]


def _key_attributes(value: Any) -> None:
    assert set(value) <= {"PartitionKey", "SortKey"} and "PartitionKey" in value
    for part in value.values():
        _attribute(part)
        assert part["AttributeType"] in KEY_TYPES


def _item(item: Any) -> None:
    """DynamoDB JSON: every attribute is a one-key type map."""
    for av in item.values():
        assert len(av) == 1 and next(iter(av)) in TYPES, av


def check_structure(model: dict[str, Any]) -> None:
    """Assert ``model`` has the documented Workbench data-model structure."""
    assert isinstance(model["ModelName"], str) and model["ModelName"]
    meta = model["ModelMetadata"]
    assert set(meta) == {"Author", "DateCreated", "DateLastModified", "Description",
                         "AWSService", "Version"}
    assert meta["AWSService"] == "Amazon DynamoDB"
    for date in (meta["DateCreated"], meta["DateLastModified"]):
        assert re.fullmatch(r"[A-Z][a-z]{2} \d{2}, \d{4}, \d{2}:\d{2} [AP]M", date), date
    for table in model["DataModel"]:
        assert set(table) <= {"TableName", "KeyAttributes", "NonKeyAttributes", "TableFacets",
                              "GlobalSecondaryIndexes", "TableData", "DataAccess",
                              "BillingMode"}
        assert isinstance(table["TableName"], str)
        _key_attributes(table["KeyAttributes"])
        names = set()
        for attribute in table["NonKeyAttributes"]:
            _attribute(attribute)
            assert attribute["AttributeType"] in TYPES
            names.add(attribute["AttributeName"])
        keys = {a["AttributeName"] for a in table["KeyAttributes"].values()}
        assert not names & keys
        for facet in table["TableFacets"]:
            assert set(facet) == {"FacetName", "KeyAttributeAlias", "TableData",
                                  "NonKeyAttributes", "DataAccess"}
            alias = facet["KeyAttributeAlias"]
            assert set(alias) == ({"PartitionKeyAlias", "SortKeyAlias"}
                                  if "SortKey" in table["KeyAttributes"]
                                  else {"PartitionKeyAlias"})
            assert set(facet["NonKeyAttributes"]) <= names  # names defined by the table
            for item in facet["TableData"]:
                _item(item)
                assert keys <= set(item)
        for gsi in table.get("GlobalSecondaryIndexes", ()):
            assert set(gsi) == {"IndexName", "KeyAttributes", "Projection"}
            _key_attributes(gsi["KeyAttributes"])
            for part in gsi["KeyAttributes"].values():
                assert part["AttributeName"] in names
            assert gsi["Projection"]["ProjectionType"] in ("ALL", "KEYS_ONLY", "INCLUDE")
        for item in table.get("TableData", ()):
            _item(item)


def test_the_shop_export_has_the_documented_structure() -> None:
    model = to_workbench(shop_design(), created=WHEN)
    check_structure(json.loads(json.dumps(model)))
    (table,) = model["DataModel"]
    assert table["KeyAttributes"] == {
        "PartitionKey": {"AttributeName": "PK", "AttributeType": "S"},
        "SortKey": {"AttributeName": "SK", "AttributeType": "S"}}
    facets = {f["FacetName"]: f for f in table["TableFacets"]}
    assert list(facets) == ["customer", "order", "order_line", "product"]
    assert facets["order"]["KeyAttributeAlias"] == {
        "PartitionKeyAlias": "CUSTOMER#{username}",
        "SortKeyAlias": "ORDER#{placed_at}#{order_id}"}
    assert facets["order"]["NonKeyAttributes"][:5] == ["GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK",
                                                       "_entity"]
    assert facets["order"]["NonKeyAttributes"][-1] == "LSI1SK"  # no LSIs in Workbench files
    assert len(facets["order"]["TableData"]) == 3
    assert [g["IndexName"] for g in table["GlobalSecondaryIndexes"]] == ["GSI1", "GSI2"]
    assert table["GlobalSecondaryIndexes"][1]["Projection"] == {
        "ProjectionType": "INCLUDE", "NonKeyAttributes": ["status", "total", "_entity"]}
    types_ = {a["AttributeName"]: a["AttributeType"] for a in table["NonKeyAttributes"]}
    assert (types_["tags"], types_["total"], types_["address"]) == ("SS", "N", "M")
    assert model["ModelMetadata"]["DateCreated"] == "Nov 30, 2026, 05:05 PM"


def test_the_library_fixture_has_the_documented_structure() -> None:
    check_structure(json.loads(LIBRARY.read_text()))


@pytest.fixture
def load_source() -> Iterator[Any]:
    """Exec generated source as a module (removed from sys.modules afterwards)."""
    names: list[str] = []

    def load(source: str) -> types.ModuleType:
        name = f"dyntable_draft_{len(names)}_{id(names)}"
        module = types.ModuleType(name)
        sys.modules[name] = module
        names.append(name)
        exec(compile(source, f"{name}.py", "exec"), module.__dict__)
        return module

    yield load
    for name in names:
        sys.modules.pop(name, None)


def _tables(module: types.ModuleType) -> list[TableSchema]:
    return [v for v in vars(module).values() if isinstance(v, TableSchema)]


def _reexport(model: dict[str, Any], module: types.ModuleType) -> dict[str, Any]:
    (table,) = _tables(module)
    items = [i for f in model["DataModel"][0]["TableFacets"] for i in f["TableData"]]
    design = build_design(table, items, examples=False, placeholders=False)
    return to_workbench(design, model_name=model["ModelName"],
                        author=model["ModelMetadata"]["Author"],
                        description=model["ModelMetadata"]["Description"], created=WHEN)


def test_import_then_export_gives_the_same_model(load_source: Any) -> None:
    exported = to_workbench(shop_design(), created=WHEN)
    source = workbench_to_source(exported)
    module = load_source(source)
    assert _reexport(exported, module) == exported
    # the draft models read and write every sample item exactly as it was
    (table,) = _tables(module)
    for facet in exported["DataModel"][0]["TableFacets"]:
        codec = codec_for(table.models[facet["FacetName"]])
        for item in facet["TableData"]:
            assert codec.encode(codec.decode(item)) == item
    assert 'by_gsi1 = Key(index="GSI1", pk="STATUS#{status}", sk="{placed_at}#{order_id}")' \
        in source
    assert 'by_gsi2 = Key(index="GSI2", pk="SHIPBY", sk="{ship_by}#{order_id}")' in source


def test_a_workbench_made_model_imports_to_a_draft_that_round_trips(load_source: Any) -> None:
    original = json.loads(LIBRARY.read_text())
    source = workbench_to_source(original)
    assert 'entity_attribute="EntityType"' in source
    assert 'primary = Key(pk="BOOK#{bookId}", sk="META")' in source
    assert 'by_member = Key(index="ByMember", pk="MEMBER#{member}", sk="{due}")' in source
    assert "# TODO: new attribute(s) loan_date" in source
    assert "fee: Decimal" in source and "pages: int" in source
    assert "tags: set[str] | None = None" in source
    first = _reexport(original, load_source(source))
    check_structure(first)
    table, again = original["DataModel"][0], first["DataModel"][0]
    for part in ("TableName", "KeyAttributes", "GlobalSecondaryIndexes", "BillingMode"):
        assert again[part] == table[part]
    assert [f["FacetName"] for f in again["TableFacets"]] == ["Book", "Loan"]
    assert [f["TableData"] for f in again["TableFacets"]] == \
        [f["TableData"] for f in table["TableFacets"]]
    book = again["TableFacets"][0]
    assert book["KeyAttributeAlias"] == {"PartitionKeyAlias": "BOOK#{bookId}",
                                         "SortKeyAlias": "META"}
    before = {a["AttributeName"]: a["AttributeType"] for a in table["NonKeyAttributes"]}
    after = {a["AttributeName"]: a["AttributeType"] for a in again["NonKeyAttributes"]}
    assert after == {**before, "loan_date": "S"}
    # from then on the model is a fixed point: import -> export gives it back unchanged
    assert _reexport(first, load_source(workbench_to_source(first))) == first


def test_template_inference_checks_every_item() -> None:
    items = [{"K": {"S": "U#a#2026"}, "u": {"S": "a"}, "y": {"N": "2026"}},
             {"K": {"S": "U#b#2025"}, "u": {"S": "b"}, "y": {"N": "2025"}}]
    assert infer_template("K", items, {"u": "user", "y": "year"}) == "U#{user}#{year}"
    items[1]["K"] = {"S": "U#b#1999"}  # the second item does not fit
    assert infer_template("K", items, {"u": "user", "y": "year"}) is None
    assert infer_template("K", [{"K": {"S": "CONST"}}], {}) == "CONST"
    # a field value inside a word or number is not a part of the key
    inside = [{"K": {"S": "tenant1"}, "n": {"N": "1"}}]
    assert infer_template("K", inside, {"n": "n"}) == "tenant1"


def test_plain_attribute_gsis_import_as_native_keys(load_source: Any) -> None:
    table = Table("design-native", gsis=[GSI("ByOwner", pk=["owner"], sk=["created"])])

    class Doc(Model, table=table, entity="doc"):
        doc_id: str
        owner: str
        created: int
        primary = Key(pk="DOC#{doc_id}", sk="DOC")
        by_owner = Key(index="ByOwner")

    exported = to_workbench(build_design(table, [Doc(doc_id="d1", owner="ada", created=3)]),
                            created=WHEN)
    check_structure(exported)
    gsi = exported["DataModel"][0]["GlobalSecondaryIndexes"][0]
    assert gsi["KeyAttributes"]["SortKey"] == {"AttributeName": "created",
                                               "AttributeType": "N"}
    source = workbench_to_source(exported)
    assert 'GSI("ByOwner", pk=["owner"], sk=["created"])' in source
    assert 'by_owner = Key(index="ByOwner")' in source and "created: int" in source
    assert _reexport(exported, load_source(source)) == exported
