"""The one connection of this execution environment, reused by every invocation.

Lambda keeps a module's globals between invocations of a warm function, so the client
(and its HTTP connections) is made once, on first use, not per request. Configuration comes
from the environment:

- ``TABLE_NAME``: the physical table (default: the declaration's name, ``shop``).
- ``DYNAMODB_ENDPOINT``: optional, e.g. ``http://localhost:8000`` for DynamoDB Local.
- ``CURSOR_SECRET``: optional HMAC secret for pagination cursors; set it in production so
  clients cannot forge cursors (without it cursors still detect tampering and misuse).
- ``TENANT_ROLE_ARN`` / ``TENANT_TAG``: optional; requests are then signed with a role
  assumed per tenant (see :mod:`shopapi.tenancy`): still one client, whose credentials are
  those of the tenant of the request being served.
"""

from __future__ import annotations

import functools
import os

from dyntable import Client
from shopapi.models import shop_table
from shopapi.tenancy import signing_credentials

__all__ = ["database"]


@functools.cache
def database() -> Client:
    """The module-level client (made on the first call; tests reset it with cache_clear)."""
    return shop_table.connect(
        endpoint_url=os.environ.get("DYNAMODB_ENDPOINT") or None,
        table_name=os.environ.get("TABLE_NAME") or shop_table.name,
        cursor_secret=os.environ.get("CURSOR_SECRET") or None,
        hide_expired=True,  # an expired cart is gone for readers, even before DynamoDB deletes it
        credentials=signing_credentials(),  # the current request's tenant role, when one is set
    )
