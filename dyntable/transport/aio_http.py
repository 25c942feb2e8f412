"""The direct HTTP transport for asyncio: :class:`~dyntable.transport.http.HttpTransport`'s
twin, awaited.

Everything but the I/O is the sync transport's own (:class:`~dyntable.transport.http.HttpCore`
and :class:`~dyntable.transport.http.Call`): SigV4, request and response bodies, CRC32
checks, error mapping, endpoint, region and credential resolution, the Streams routing,
botocore's standard retry mode with its quota, ``request_timeout``, and the ambiguity rules
(an attempt that may have been applied is resent only while
:func:`~dyntable.transport.base.resend_allowed`, which is per task; errors carry
``maybe_applied``). The connections are :mod:`dyntable._internal.transport.aio_wire`'s.

No event loop is created when this module is imported or a transport is built: connections
are opened on first use, in the running loop. A transport serves one loop at a time and can
be kept across ``asyncio.run`` calls (a Lambda handler running a loop per invocation): a
new loop gets new connections, and the previous loop's are closed when it shuts down. See
:mod:`dyntable._internal.transport.aio_wire` for the details.

Credentials from the environment (as Lambda sets them) or given as values are used in the
loop; botocore's chain is loaded, and botocore credentials are refreshed, in a worker
thread (``asyncio.to_thread``): that may reach IMDS, a container endpoint or SSO. A callable
you pass is called in the loop and must not block.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from dyntable._internal.transport.aio_wire import AsyncPool
from dyntable._internal.transport.jsonproto import encode_request
from dyntable._internal.transport.sigv4 import SigningCredentials
from dyntable.errors import DyntableError
from dyntable.transport.aio_base import AsyncTransportBase
from dyntable.transport.base import Hook, Params, Response
from dyntable.transport.credentials import Endpoint, may_block
from dyntable.transport.http import Attempt, Call, HttpCore, Target

__all__ = ["AsyncHttpTransport"]


class AsyncHttpTransport(HttpCore[AsyncPool], AsyncTransportBase):
    """Sends DynamoDB calls from asyncio code over HTTP/1.1 with dyntable's own SigV4.

    Takes the arguments of :class:`~dyntable.transport.http.HttpTransport`, with the same
    meaning and defaults, except:

    Args:
        sleep: awaited with each backoff delay (default :func:`asyncio.sleep`; tests
            inject a fake).

    Raises:
        ValueError: bad retry or timeout settings, no region, or an unusable endpoint.

    Safe to use from many tasks of one loop at once. Create one per process (in Lambda, at
    module level) and reuse it, also across ``asyncio.run`` calls; ``await close()`` (or
    ``async with``) releases its connections.
    """

    name = "async-http"

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        credentials: Any = None,
        max_attempts: int = 4,
        retry_mode: str = "standard",
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        request_timeout: float | None = 120.0,
        max_pool_connections: int = 10,
        hooks: list[Hook] | None = None,
        use_fips: bool | None = None,
        use_dualstack: bool | None = None,
        streams_endpoint_url: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] | None = None,
    ) -> None:
        AsyncTransportBase.__init__(self, hooks)
        HttpCore.__init__(
            self, endpoint_url=endpoint_url, region=region, credentials=credentials,
            max_attempts=max_attempts, retry_mode=retry_mode, connect_timeout=connect_timeout,
            read_timeout=read_timeout, request_timeout=request_timeout,
            max_pool_connections=max_pool_connections, use_fips=use_fips,
            use_dualstack=use_dualstack, streams_endpoint_url=streams_endpoint_url, rand=rand,
        )
        self._sleep = sleep

    def _new_pool(
        self, endpoint: Endpoint, connect_timeout: float, read_timeout: float, size: int
    ) -> AsyncPool:
        return AsyncPool(endpoint, connect_timeout, read_timeout, size)

    async def send(self, operation: str, params: Params) -> Response:
        """Send one call; retry as botocore's standard mode would; return the response.

        A failed attempt that may have been applied (5xx, or no answer after the request
        was sent) is resent only when :func:`~dyntable.transport.base.resend_allowed`; the
        error finally raised has ``maybe_applied`` set when any attempt may have been
        applied.
        """
        with self.timed(operation, params) as event:
            target = self._targets.get(operation) or self._target(operation)
            body = encode_request(params)
            call = Call(self, operation, event)
            while True:
                result = await self._attempt(target, body)
                if result.ok:
                    return call.succeeded(result)
                await self._sleep(call.failed(result))

    async def close(self) -> None:
        """Close the idle pooled connections (a later call opens new ones)."""
        await self._main.pool.aclose()
        if self._streams is not self._main:
            await self._streams.pool.aclose()

    # -- one attempt --------------------------------------------------------------------

    async def _credentials_now(self) -> SigningCredentials:
        provider = self._credentials
        try:
            if may_block(provider):
                return await asyncio.to_thread(provider)
            return provider()
        except DyntableError:  # the provider's own typed error (e.g. TenantNotSetError)
            raise
        except Exception as exc:
            raise self._credentials_failed(exc) from exc

    async def _attempt(self, target: Target[AsyncPool], body: bytes) -> Attempt:
        route = target.route
        request = route.request(target.name, body, await self._credentials_now())
        limit = self.request_timeout
        deadline = None if limit is None else time.monotonic() + limit
        pool = route.pool
        try:
            conn = await pool.get(deadline)
        except OSError as exc:
            return Attempt(error=exc, sent=False)
        try:
            status, headers, raw, keep = await conn.exchange(request, deadline)
        except OSError as exc:
            conn.close()
            return Attempt(error=exc, sent=conn.sent)
        except BaseException:
            conn.close()
            raise
        if keep:
            pool.put(conn)
        else:
            conn.close()
        return Attempt(status, headers, raw)
