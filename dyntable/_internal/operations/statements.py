"""PartiQL: ``ExecuteStatement`` read page after page, items decoded by entity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dyntable._internal.codec.identity import identity
from dyntable._internal.codec.items import codec_for
from dyntable._internal.codec.values import to_av
from dyntable._internal.operations.collections import decode_item
from dyntable._internal.operations.flow import Flow, Request, gather
from dyntable._internal.operations.items import require_table
from dyntable._internal.operations.pages import RawPage, pages
from dyntable._internal.operations.reads import report_unmatched

if TYPE_CHECKING:
    from dyntable.schema.table import TableSchema

__all__ = ["statement_flow"]


def statement_flow(
    table: TableSchema,
    statement: str,
    parameters: Sequence[Any] = (),
    *,
    model: type[Any] | None = None,
    consistent: bool = False,
    limit: int | None = None,
    table_name: str | None = None,
) -> Flow[list[Any]]:
    """Run a PartiQL statement, reading every page (up to ``limit`` items).

    ``parameters`` fill the statement's ``?`` placeholders (encoded by type; never pasted
    into the text). Items are decoded to ``model`` when given (items of other entities are
    skipped; items that match no model are reported with an UnmatchedItemWarning),
    otherwise each as the model it belongs to; items matching no model are returned as raw
    dicts.
    """
    params: dict[str, Any] = {"Statement": statement}
    if parameters:
        params["Parameters"] = [to_av(p, f"parameter {i}") for i, p in enumerate(parameters)]
    if consistent:
        params["ConsistentRead"] = True
    codec = None
    if model is not None:
        require_table(model, table)
        codec = codec_for(model)

    def decode(raw: list[dict[str, Any]]) -> list[Any]:
        if codec is not None:
            mine, unmatched = identity(table).split(raw, codec.model)
            if unmatched:
                report_unmatched(
                    "ExecuteStatement", codec.model, table_name or table.name, unmatched,
                    kept="run the statement without model= to read them as raw items")
            return [codec.decode(item) for item in mine]
        out = []
        for item in raw:
            obj = decode_item(table, item)
            out.append(obj if obj is not None else item)
        return out

    got: list[RawPage] = yield from gather(pages(
        Request("ExecuteStatement", params), limit=limit, token_in="NextToken",
        token_out="NextToken", decode=decode))
    items = [obj for page in got for obj in page.items]
    return items[:limit] if limit is not None else items
