"""Hand-written Lambda DynamoDB Streams events, shaped as AWS documents them."""

from __future__ import annotations

import base64
from typing import Any

from dyntable._internal.codec.items import codec_for
from dyntable.schema.model import Model

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/shop/stream/2026-11-26T00:00:00.000"


def to_lambda_json(av: Any) -> Any:
    """An AttributeValue as Lambda delivers it (binary values base64 text)."""
    if isinstance(av, dict):
        return {k: (base64.b64encode(v).decode() if isinstance(v, bytes) else
                    [base64.b64encode(x).decode() for x in v] if k == "BS" else
                    to_lambda_json(v)) for k, v in av.items()}
    if isinstance(av, list):
        return [to_lambda_json(v) for v in av]
    return av


def image(obj: Model) -> dict[str, Any]:
    """The stored item of ``obj`` in Lambda JSON form."""
    item = codec_for(type(obj)).encode(obj)
    return {k: to_lambda_json(v) for k, v in item.items()}


def record(
    event_name: str,
    seq: str,
    *,
    keys_of: Model | None = None,
    keys: dict[str, Any] | None = None,
    new: Model | dict[str, Any] | None = None,
    old: Model | dict[str, Any] | None = None,
    view: str = "NEW_AND_OLD_IMAGES",
    ttl: bool = False,
) -> dict[str, Any]:
    """One record; images are left out as the view type would leave them out."""
    obj = keys_of or new or old
    if keys is None:
        assert isinstance(obj, Model)
        keys = {k: to_lambda_json(v) for k, v in codec_for(type(obj)).key_of(obj).items()}
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": 1795737600,
        "Keys": keys,
        "SequenceNumber": seq,
        "SizeBytes": 123,
        "StreamViewType": view,
    }
    if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        body["NewImage"] = image(new) if isinstance(new, Model) else new
    if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        body["OldImage"] = image(old) if isinstance(old, Model) else old
    rec: dict[str, Any] = {
        "eventID": f"event-{seq}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": body,
        "eventSourceARN": ARN,
    }
    if ttl:
        rec["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return rec


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    """A Lambda event."""
    return {"Records": list(records)}
