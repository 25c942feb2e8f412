"""The embedded default endpoint: DynamoDB Local when possible, moto's server otherwise.

Used by the demo and quick experiments::

    with start_embedded() as server:
        print(f"using {server.kind} at {server.endpoint_url}")
        db = shop.connect(endpoint_url=server.endpoint_url)

``prefer="auto"`` picks DynamoDB Local when Java is installed and the jar is cached
(or npm can fetch it), and falls back to moto's in-process server otherwise, or when
DynamoDB Local fails to start (``reason`` then says why). moto is a mock: behaviour
seen only on moto is not verified. Nothing is printed; callers decide what to show.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

from dyntable.testing.dynamodb_local import (
    DynamoDBLocal,
    LocalServerError,
    MissingDependencyError,
    find_dynamodb_local,
    find_java,
)

__all__ = [
    "EmbeddedServer",
    "ServerKind",
    "dynamodb_local_available",
    "start_embedded",
    "start_moto",
]

ServerKind = Literal["dynamodb-local", "moto"]
Preference = Literal["auto", "dynamodb-local", "moto"]


@dataclass
class EmbeddedServer:
    """A running local DynamoDB endpoint; stop it with :meth:`stop` or a ``with`` block.

    Attributes:
        endpoint_url: ``http://127.0.0.1:<port>``.
        kind: ``"dynamodb-local"`` or ``"moto"``.
        description: one line naming the backend (version, location) for display.
        reason: why this backend was chosen when it was a fallback, else ``None``.
    """

    endpoint_url: str
    kind: ServerKind
    description: str
    reason: str | None = None
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        stop, self._stop = self._stop, None
        if stop is not None:
            stop()

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def dynamodb_local_available() -> bool:
    """True when DynamoDB Local can run here without installing system packages:
    Java is present, and the jar is cached (or npm is there to fetch it)."""
    if find_java() is None:
        return False
    try:
        cached = find_dynamodb_local() is not None
    except LocalServerError:  # DYNTABLE_DYNAMODB_LOCAL_DIR points nowhere useful
        return False
    return cached or shutil.which("npm") is not None


def start_embedded(prefer: Preference = "auto", *, port: int | None = None) -> EmbeddedServer:
    """Start a local DynamoDB endpoint and return it.

    Args:
        prefer: ``"auto"``, ``"dynamodb-local"`` or ``"moto"``. Only ``"auto"`` falls back.
        port: the port to listen on; a free loopback port when ``None``.

    Raises:
        MissingDependencyError: the chosen backend is not installed (moto needs the
            ``local`` extra; DynamoDB Local needs Java).
        LocalServerError: DynamoDB Local was explicitly asked for and did not start.
    """
    if prefer == "moto":
        return start_moto(port=port)
    if prefer == "dynamodb-local":
        return _start_dynamodb_local(port)
    if prefer != "auto":
        raise ValueError(f"prefer must be 'auto', 'dynamodb-local' or 'moto', not {prefer!r}")
    if not dynamodb_local_available():
        server = start_moto(port=port)
        server.reason = "Java or DynamoDB Local not available"
        return server
    try:
        return _start_dynamodb_local(port)
    except LocalServerError as exc:
        server = start_moto(port=port)
        server.reason = f"DynamoDB Local failed: {exc}"
        return server


def _start_dynamodb_local(port: int | None) -> EmbeddedServer:
    local = DynamoDBLocal(port=port).start()
    return EmbeddedServer(
        endpoint_url=local.endpoint_url,
        kind="dynamodb-local",
        description=f"DynamoDB Local {local.version or '?'} ({local.directory})",
        _stop=local.stop,
    )


def start_moto(*, port: int | None = None) -> EmbeddedServer:
    """Start moto's DynamoDB server in a background thread on a loopback port.

    Request logging is switched off (moto's own ``ThreadedMotoServer`` writes a line
    per request to stderr).

    Raises:
        MissingDependencyError: moto (the ``local`` extra) is not installed.
        LocalServerError: ``port`` is not free.
    """
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except ImportError as exc:
        raise MissingDependencyError(
            "moto is not installed; it is the embedded DynamoDB used when Java is missing. "
            "Install it with: pip install 'dyntable[local]' (or install Java 17+ to use "
            "DynamoDB Local)"
        ) from exc

    class QuietHandler(MotoRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    if port:
        _check_port_free(port)  # werkzeug would print to stderr and sys.exit() instead
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", port or 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="dyntable-moto", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    return EmbeddedServer(
        endpoint_url=f"http://127.0.0.1:{server.server_port}",
        kind="moto",
        description=f"moto {_moto_version()} (in-process mock)",
        _stop=stop,
    )


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise LocalServerError(f"cannot start moto: port {port} is taken ({exc})") from exc


def _moto_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moto")
    except PackageNotFoundError:  # pragma: no cover - importable but not installed
        return "?"
