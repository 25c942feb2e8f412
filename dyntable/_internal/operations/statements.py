"""PartiQL: ``ExecuteStatement`` read page after page, ``BatchExecuteStatement`` (up to 25
statements, throttled ones retried) and ``ExecuteTransaction`` (up to 100, one token);
parameters are always bound (``?``), never pasted; items decoded by entity."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dyntable._internal.codec.identity import identity
from dyntable._internal.codec.items import codec_for
from dyntable._internal.codec.values import to_av
from dyntable._internal.operations.collections import decode_item
from dyntable._internal.operations.flow import Flow, Request, Sleep, gather
from dyntable._internal.operations.items import require_table
from dyntable._internal.operations.pages import RawPage, pages
from dyntable._internal.operations.reads import report_unmatched
from dyntable._internal.operations.retry import Backoff
from dyntable._internal.operations.send import send
from dyntable.errors import (
    BatchStatementError,
    InvalidRequestError,
    TransactionLimitError,
    service_error,
)

if TYPE_CHECKING:
    from dyntable.schema.table import TableSchema

__all__ = ["MAX_BATCH_STATEMENTS", "MAX_TRANSACTION_STATEMENTS", "StatementResult",
           "batch_statements_flow", "statement_flow", "transaction_statements_flow"]

#: DynamoDB's limits: statements per BatchExecuteStatement / ExecuteTransaction.
MAX_BATCH_STATEMENTS = 25
MAX_TRANSACTION_STATEMENTS = 100
#: per-statement errors of a batch that a later attempt may clear
_RETRYABLE = frozenset({"ProvisionedThroughputExceeded", "ThrottlingError",
                        "RequestLimitExceeded", "InternalServerError",
                        "TransactionConflict"})

#: per-statement error codes -> the codes of the same errors on single calls (others add
#: "Exception"); an INSERT of an existing key is a failed condition (attribute_not_exists)
_BATCH_CODES = {"ValidationError": "ValidationException",
                "ThrottlingError": "ThrottlingException",
                "DuplicateItem": "ConditionalCheckFailedException"}

#: a statement, alone or with the values of its ``?`` placeholders
Statement = str | tuple[str, Sequence[Any]]


@dataclass
class StatementResult:
    """The outcome of one statement of a batch: its item (reads; a model object when a
    model fits it, else the raw item) or its error (typed, as raised for single calls)."""

    statement: str
    item: Any = None
    error: Exception | None = None


def _statement(table: TableSchema, stmt: Statement, i: int) -> dict[str, Any]:
    text, params = (stmt, ()) if isinstance(stmt, str) else stmt
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequestError(f"statement #{i}: a PartiQL statement text is required")
    body: dict[str, Any] = {"Statement": text}
    if params:
        body["Parameters"] = [to_av(p, f"statement #{i} parameter {j}")
                              for j, p in enumerate(params)]
    return body


def _decode(table: TableSchema, raw: dict[str, Any] | None) -> Any:
    if not raw:
        return None
    obj = decode_item(table, raw)
    return obj if obj is not None else raw


def batch_statements_flow(
    table: TableSchema,
    statements: Sequence[Statement],
    *,
    consistent: bool = False,
    max_retries: int = 5,
    backoff: Backoff | None = None,
) -> Flow[list[StatementResult]]:
    """Run up to 25 statements in one BatchExecuteStatement; one result per statement, in
    order. Statements failing with a throttle or a 5xx are resent (with backoff) up to
    ``max_retries`` times; other errors are left in their result.

    Raises:
        BatchStatementError: some statements still failed (``results`` holds them all).
    """
    if len(statements) > MAX_BATCH_STATEMENTS:
        raise InvalidRequestError(
            f"BatchExecuteStatement takes at most {MAX_BATCH_STATEMENTS} statements, got "
            f"{len(statements)}; split them (every statement is kept: none is dropped)")
    bodies = [_statement(table, s, i) for i, s in enumerate(statements)]
    if consistent:
        for b in bodies:
            b["ConsistentRead"] = True
    results = [StatementResult(b["Statement"]) for b in bodies]
    pending = list(range(len(bodies)))
    wait = backoff or Backoff()
    attempt = 0
    while pending:
        response = yield from send(Request(
            "BatchExecuteStatement", {"Statements": [bodies[i] for i in pending]}))
        answers = response.get("Responses") or []
        retry: list[int] = []
        for pos, i in enumerate(pending):
            answer = answers[pos] if pos < len(answers) else {
                "Error": {"Code": "InternalServerError", "Message": "no response"}}
            err = answer.get("Error")
            if err:
                code = str(err.get("Code") or "")
                results[i].error = service_error(
                    _BATCH_CODES.get(code, code + "Exception"), str(err.get("Message") or code),
                    operation="BatchExecuteStatement",
                    response={"Item": err["Item"]} if err.get("Item") else None)
                if code in _RETRYABLE:
                    retry.append(i)
            else:
                results[i].error = None
                results[i].item = _decode(table, answer.get("Item"))
        if not retry or attempt >= max_retries:
            break
        yield Sleep(wait.delay(attempt))
        attempt += 1
        pending = retry
    failed = [r for r in results if r.error is not None]
    if failed:
        first = failed[0]
        raise BatchStatementError(
            f"{len(failed)} of {len(results)} statements failed; first: {first.statement!r}: "
            f"{first.error}", results=results)
    return results


def transaction_statements_flow(
    table: TableSchema,
    statements: Sequence[Statement],
    *,
    token: str | None = None,
    max_retries: int = 3,
    backoff: Backoff | None = None,
) -> Flow[list[Any]]:
    """Run up to 100 statements as one ExecuteTransaction (all reads or all writes); the
    items read (decoded), in order. The ClientRequestToken (``token``, default a new UUID)
    makes retries of an applied transaction harmless; cancellation reasons say which
    statement failed and why (TransactionCanceledError)."""
    from dyntable._internal.operations.transactions import commit_flow

    if not statements:
        return []
    if len(statements) > MAX_TRANSACTION_STATEMENTS:
        raise TransactionLimitError(
            f"ExecuteTransaction takes at most {MAX_TRANSACTION_STATEMENTS} statements, got "
            f"{len(statements)}")
    if token is not None and not (1 <= len(token) <= 36):
        raise InvalidRequestError("a ClientRequestToken is 1 to 36 characters")
    params = {"TransactStatements": [_statement(table, s, i) for i, s in enumerate(statements)],
              "ClientRequestToken": token or str(uuid.uuid4())}
    response = yield from commit_flow("ExecuteTransaction", params, max_retries=max_retries,
                                      backoff=backoff or Backoff())
    return [_decode(table, r.get("Item")) for r in response.get("Responses") or []]


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
