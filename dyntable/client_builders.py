"""The sync client's builders: updates, queries, scans and transactions.

:meth:`Client.update <dyntable.client.Client.update>`, ``query``, ``scan`` and
``transaction`` make them; they load with their first use, not at ``table.connect()``
(cold start). ``dyntable.client`` re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dyntable._internal.operations.item_flows import UpdateBuilderBase
from dyntable._internal.operations.query import QueryBuilder
from dyntable._internal.operations.reads import Page, ReadBuilder, ScanBuilder
from dyntable._internal.operations.transactions import TransactionBuilder

if TYPE_CHECKING:
    from dyntable.client import Client
    from dyntable.schema.keys import ModelKey
    from dyntable.schema.model import Model

__all__ = ["Query", "Scan", "Transaction", "UpdateBuilder"]

M = TypeVar("M", bound="Model")


class UpdateBuilder(UpdateBuilderBase[M]):
    """Collects update actions; ``execute()`` sends them and returns the updated item.

    Top-level fields are given as keywords (``set(name="Ada")``); nested paths as a path and
    a value (``set(F.address.city, "Paris")``). Actions: set, remove, add, delete, append,
    prepend, set_default, condition, expect_version (see
    :class:`~dyntable._internal.operations.update_actions.UpdateActions`).
    """

    def __init__(self, client: Client, target: Any, key: Mapping[str, Any], *,
                 upsert: bool = False) -> None:
        super().__init__(client.table, client.table_name, target, key, upsert=upsert)
        self._client = client

    def execute(self) -> M:
        """Send the update; return the item as stored afterwards."""
        return self._client.run(self.update_flow())


class _Reads(ReadBuilder[M]):
    """The methods that run a query or scan over the sync client."""

    _client: Client

    def __iter__(self) -> Iterator[M]:
        """Iterate lazily across pages; memory is bounded by one page.

        Each object is released by the iterator as soon as it is handed out, so what the
        caller does not keep is freed before the next page is read.
        """
        for page in self._client.iterate(self.pages_flow()):
            items = page.items
            del page
            items.reverse()
            while items:
                yield items.pop()

    def all(self) -> list[M]:
        """Every matching item (up to ``limit``) as a list."""
        return list(self)

    def first(self) -> M | None:
        """The first matching item, or ``None``."""
        for item in self:
            return item
        return None

    def page(self, cursor: str | None = None) -> Page[M]:
        """One page: up to ``limit`` items (default: one DynamoDB page) and the next cursor."""
        return self._client.run(self.page_flow(cursor))

    def count(self) -> int:
        """How many items match (reads every page with ``Select=COUNT``)."""
        return self._client.run(self.count_flow())


class Query(_Reads[M], QueryBuilder[M]):
    """A query on a model's key, run by the sync client (see
    :class:`~dyntable._internal.operations.query.QueryBuilder` for the builder methods)."""

    def __init__(self, client: Client, key: ModelKey[M], fields: Mapping[str, Any]) -> None:
        QueryBuilder.__init__(self, client._context(), key, fields)
        self._client = client


class Scan(_Reads[M], ScanBuilder[M]):
    """A scan keeping one model's items, run by the sync client."""

    def __init__(self, client: Client, model: type[M], index: str | None = None) -> None:
        ScanBuilder.__init__(self, client._context(), model, index)
        self._client = client


class Transaction(TransactionBuilder):
    """A write transaction (``with db.transaction() as tx:``), committed when the block
    ends without an exception; nothing is sent when it raises. See
    :class:`~dyntable._internal.operations.transactions.TransactionBuilder`."""

    def __init__(self, client: Client, **options: Any) -> None:
        super().__init__(client.table, client.table_name, **options)
        self._client = client

    def commit(self) -> None:
        """Send the transaction (nothing is sent when it has no actions)."""
        self._client.run(self.commit_flow())

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.commit()
