"""A fake DynamoDB control plane for offline tests of create / diff / sync.

It keeps one table per region as DescribeTable-shaped state and answers the table-level
operations dyntable sends (CreateTable, DescribeTable, UpdateTable with replica updates,
TTL, continuous backups, tags), so the flows can be driven end to end through a
:class:`~dyntable.transport.mock.MockTransport`. A replica reads ``CREATING`` once, then
``ACTIVE``. It checks what DynamoDB checks that matters here: one replica change per
UpdateTable.
"""

from __future__ import annotations

import copy
from typing import Any

from dyntable.errors import ServiceValidationError, TableNotFoundError
from dyntable.transport.mock import MockTransport

ACCOUNT = "111122223333"


class ControlPlane:
    """Tables by region; ``transport(region)`` answers as that region's endpoint."""

    def __init__(self, home: str = "us-east-1") -> None:
        self.home = home
        self.tables: dict[str, dict[str, Any]] = {}      # region -> description
        self.backups: dict[str, bool] = {}                # region -> PITR on
        self.tags: dict[str, dict[str, str]] = {}         # region -> tags
        self.ttl: dict[str, Any] = {}
        self.transports: dict[str, MockTransport] = {}

    def transport(self, region: str | None = None) -> MockTransport:
        region = region or self.home
        if region not in self.transports:
            self.transports[region] = MockTransport(
                lambda op, params: self.answer(region, op, params))
        return self.transports[region]

    def sent(self, region: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        return [(c.operation, c.params) for c in self.transport(region).sent]

    # -- state ------------------------------------------------------------------------------

    def _arn(self, region: str, name: str) -> str:
        return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"

    def _table(self, region: str, name: str) -> dict[str, Any]:
        desc = self.tables.get(region)
        if desc is None or desc["TableName"] != name:
            raise TableNotFoundError(f"Requested resource not found: Table: {name} not found",
                                     code="ResourceNotFoundException")
        return desc

    def answer(self, region: str, op: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, f"_{op}", None)
        if handler is None:
            raise AssertionError(f"unexpected {op} in {region}")
        result: dict[str, Any] = handler(region, params)
        return copy.deepcopy(result)

    def _CreateTable(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        desc = copy.deepcopy({k: v for k, v in p.items() if k not in (
            "Tags", "BillingMode", "SSESpecification", "TableClass")})
        desc.update(TableStatus="ACTIVE", TableArn=self._arn(region, p["TableName"]),
                    BillingModeSummary={"BillingMode": p.get("BillingMode", "PROVISIONED")},
                    DeletionProtectionEnabled=bool(p.get("DeletionProtectionEnabled")))
        if "TableClass" in p:
            desc["TableClassSummary"] = {"TableClass": p["TableClass"]}
        sse = p.get("SSESpecification") or {}
        if sse.get("Enabled"):
            desc["SSEDescription"] = {"Status": "ENABLED", "SSEType": "KMS",
                                      "KMSMasterKeyArn": sse.get("KMSMasterKeyId", "aws-managed")}
        for g in desc.get("GlobalSecondaryIndexes") or []:
            g["IndexStatus"] = "ACTIVE"
        self.tables[region] = desc
        self.tags[region] = {t["Key"]: t["Value"] for t in p.get("Tags") or []}
        return {"TableDescription": desc}

    def _DescribeTable(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        desc = self._table(region, p["TableName"])
        answer = copy.deepcopy(desc)
        for r in desc.get("Replicas") or []:  # CREATING is seen once
            if r["ReplicaStatus"] == "CREATING":
                r["ReplicaStatus"] = "ACTIVE"
        if desc.get("Replicas") and all(r["ReplicaStatus"] == "ACTIVE"
                                        for r in desc["Replicas"]):
            desc["TableStatus"] = "ACTIVE"
        return {"Table": answer}

    def _UpdateTable(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        desc = self._table(region, p["TableName"])
        updates = p.get("ReplicaUpdates") or []
        if len(updates) > 1:
            raise ServiceValidationError("One replica update per request",
                                         code="ValidationException")
        for u in updates:
            self._replica_update(region, desc, u)
        if "DeletionProtectionEnabled" in p:
            desc["DeletionProtectionEnabled"] = p["DeletionProtectionEnabled"]
        if "TableClass" in p:
            desc["TableClassSummary"] = {"TableClass": p["TableClass"]}
        if "OnDemandThroughput" in p:
            desc["OnDemandThroughput"] = p["OnDemandThroughput"]
        if "SSESpecification" in p:
            sse = p["SSESpecification"]
            if sse.get("Enabled"):
                desc["SSEDescription"] = {"Status": "ENABLED", "SSEType": "KMS",
                                          "KMSMasterKeyArn": sse.get("KMSMasterKeyId", "x")}
            else:
                desc.pop("SSEDescription", None)
        return {"TableDescription": desc}

    def _replica_update(self, region: str, desc: dict[str, Any], u: dict[str, Any]) -> None:
        replicas = desc.setdefault("Replicas", [])
        if "Create" in u:
            spec = u["Create"]
            entry: dict[str, Any] = {"RegionName": spec["RegionName"],
                                     "ReplicaStatus": "CREATING"}
            if "TableClassOverride" in spec:
                entry["ReplicaTableClassSummary"] = {"TableClass": spec["TableClassOverride"]}
            for key in ("KMSMasterKeyId", "ProvisionedThroughputOverride",
                        "OnDemandThroughputOverride"):
                if key in spec:
                    entry[key] = spec[key]
            replicas.append(entry)
            desc["TableStatus"] = "UPDATING"
            # the replica's own table, in its region
            copy_desc = copy.deepcopy({k: v for k, v in desc.items() if k != "Replicas"})
            copy_desc.update(TableArn=self._arn(spec["RegionName"], desc["TableName"]),
                             TableStatus="ACTIVE", DeletionProtectionEnabled=False)
            self.tables[spec["RegionName"]] = copy_desc
            self.tags[spec["RegionName"]] = {}
        elif "Delete" in u:
            gone = u["Delete"]["RegionName"]
            desc["Replicas"] = [r for r in replicas if r["RegionName"] != gone]
            self.tables.pop(gone, None)
        else:
            spec = u["Update"]
            for r in replicas:
                if r["RegionName"] == spec["RegionName"]:
                    if "TableClassOverride" in spec:
                        r["ReplicaTableClassSummary"] = {"TableClass": spec["TableClassOverride"]}
                    for key in ("ProvisionedThroughputOverride", "OnDemandThroughputOverride"):
                        if key in spec:
                            r[key] = spec[key]

    def _UpdateTimeToLive(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        spec = p["TimeToLiveSpecification"]
        self.ttl[region] = {"TimeToLiveStatus": "ENABLED" if spec["Enabled"] else "DISABLED",
                            "AttributeName": spec["AttributeName"]}
        return {"TimeToLiveSpecification": spec}

    def _DescribeTimeToLive(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        return {"TimeToLiveDescription": self.ttl.get(region, {"TimeToLiveStatus": "DISABLED"})}

    def _UpdateContinuousBackups(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        self._table(region, p["TableName"])
        on = p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        self.backups[region] = on
        return self._DescribeContinuousBackups(region, p)

    def _DescribeContinuousBackups(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        on = self.backups.get(region, False)
        return {"ContinuousBackupsDescription": {
            "ContinuousBackupsStatus": "ENABLED",
            "PointInTimeRecoveryDescription": {
                "PointInTimeRecoveryStatus": "ENABLED" if on else "DISABLED"}}}

    def _region_of(self, arn: str) -> str:
        return arn.split(":")[3]

    def _ListTagsOfResource(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        assert self._region_of(p["ResourceArn"]) == region
        return {"Tags": [{"Key": k, "Value": v} for k, v in self.tags[region].items()]}

    def _TagResource(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        assert self._region_of(p["ResourceArn"]) == region
        self.tags[region].update({t["Key"]: t["Value"] for t in p["Tags"]})
        return {}

    def _UntagResource(self, region: str, p: dict[str, Any]) -> dict[str, Any]:
        assert self._region_of(p["ResourceArn"]) == region
        for k in p["TagKeys"]:
            self.tags[region].pop(k, None)
        return {}
