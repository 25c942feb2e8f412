"""``Table``: a table declaration that clients connect to (``shop.connect()``).

The declaration itself (keys, indexes, TTL, stream, the models registered on it) is
:class:`~dyntable.schema.table.TableSchema`, which the lower layers use; this subclass adds
the two ways of connecting, so that nothing below the clients imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dyntable.schema.table import TableSchema

if TYPE_CHECKING:
    from dyntable.async_client import AsyncClient
    from dyntable.client import Client
    from dyntable.transport.base import AsyncTransport, Transport

__all__ = ["Table"]


class Table(TableSchema):
    """One physical DynamoDB table shared by many entity models.

    Args:
        name: the table name.
        pk / sk: key attribute names (generic names such as ``PK`` / ``SK`` suit single-table
            design); ``sk=None`` for a table without sort key.
        gsis / lsis: secondary indexes (at most 20 GSIs and 5 LSIs).
        ttl: the TTL attribute name (epoch seconds on the wire).
        stream: stream view type, or ``None`` for no stream.
        billing_mode: ``PAY_PER_REQUEST`` (default) or ``PROVISIONED`` (then give capacity).
        table_class: ``STANDARD`` or ``STANDARD_INFREQUENT_ACCESS``.
        entity_attribute: the attribute naming each item's entity, or ``None`` for a table
            whose items carry none (then an item's model is found from its key templates).
        attribute_types: key attribute types other than ``S`` (e.g. ``{"LSI1SK": "N"}``).
        deletion_protection: passed to CreateTable.
        type_hooks: Python type -> ``TypeHook``: how fields of that type are stored in every
            model of the table (a field's own ``Format`` or ``TypeHook`` wins).
    """

    def connect(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        transport: Transport | None = None,
        **options: Any,
    ) -> Client:
        """A sync client for this table. Sends no request (no DescribeTable at connect).

        Without ``transport`` the default is made from the usual AWS credential chain,
        ``endpoint_url`` and ``region`` (see :func:`dyntable.transport.default.default_transport`);
        ``options`` go to the client (``table_name``, ``cursor_secret``, ``hide_expired``)
        or, when the client does not take them, to that transport.
        """
        from dyntable.client import Client

        return Client(self, endpoint_url=endpoint_url, region=region, transport=transport,
                      **options)

    async def connect_async(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        transport: AsyncTransport | None = None,
        **options: Any,
    ) -> AsyncClient:
        """An asyncio client for this table: ``db = await shop.connect_async()``.

        Same options as :meth:`connect`; the default transport is
        :class:`~dyntable.transport.aio_http.AsyncHttpTransport`. Sends no request; opens no
        connection until the first call.
        """
        from dyntable.async_client import AsyncClient

        return AsyncClient(self, endpoint_url=endpoint_url, region=region,
                           transport=transport, **options)
