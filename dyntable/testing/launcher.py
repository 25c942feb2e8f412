"""A tiny Java class that starts DynamoDB Local listening on one address only.

DynamoDB Local (3.3.1) has no option for its listening address: it builds a Jetty server
on a port, and Jetty then binds every interface. This class does what DynamoDB Local's own
``main`` does with dyntable's options (build the server from the command line, start it)
after setting the Jetty connector's host, read from the ``dyntable.host`` system property.
It reaches DynamoDB Local only through reflection, so nothing is compiled against it, and
its class file is assembled here: a JRE has no Java compiler. In Java it reads::

    public final class DyntableLocalLauncher {
        public static void main(String[] args) throws Throwable {
            Object proxy = Class.forName(SERVER_RUNNER)
                .getMethod("createServerFromCommandLineArgs", String[].class)
                .invoke(null, (Object) args);
            Field field = proxy.getClass().getDeclaredField("server");  // the Jetty Server
            field.setAccessible(true);
            Object server = field.get(proxy);
            Object connector = ((Object[]) server.getClass().getMethod("getConnectors")
                .invoke(server))[0];
            connector.getClass().getMethod("setHost", String.class)
                .invoke(connector, System.getProperty("dyntable.host"));
            proxy.getClass().getMethod("start").invoke(proxy);
        }
    }

Skipped from DynamoDB Local's ``main``: telemetry set-up (dyntable always passes
``-disableTelemetry``) and ``-help`` / ``-version`` handling.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path

__all__ = ["HOST_PROPERTY", "LAUNCHER_CLASS", "launcher_class_bytes", "write_launcher"]

#: The launcher's class name (no package).
LAUNCHER_CLASS = "DyntableLocalLauncher"
#: The system property holding the address to listen on.
HOST_PROPERTY = "dyntable.host"
_SERVER_RUNNER = "software.amazon.dynamodb.services.local.main.ServerRunner"
_CLASS = "java/lang/Class"
_OBJECT = "java/lang/Object"
_METHOD = "java/lang/reflect/Method"
_FIELD = "java/lang/reflect/Field"
_GET_METHOD = ("getMethod", "(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;")
_INVOKE = ("invoke", "(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;")
_GET_CLASS = ("getClass", "()Ljava/lang/Class;")


class _Pool:
    """A class file's constant pool (entries are added once, numbered from 1)."""

    def __init__(self) -> None:
        self.entries: list[bytes] = []
        self.numbers: dict[tuple[str, ...], int] = {}

    def _add(self, key: tuple[str, ...], data: bytes) -> int:
        number = self.numbers.get(key)
        if number is None:
            self.entries.append(data)
            number = self.numbers[key] = len(self.entries)
        return number

    def utf8(self, text: str) -> int:
        data = text.encode("ascii")  # modified UTF-8 equals ASCII for these names
        return self._add(("utf8", text), b"\x01" + struct.pack(">H", len(data)) + data)

    def cls(self, name: str) -> int:
        return self._add(("class", name), b"\x07" + struct.pack(">H", self.utf8(name)))

    def string(self, text: str) -> int:
        return self._add(("string", text), b"\x08" + struct.pack(">H", self.utf8(text)))

    def method(self, owner: str, name: str, descriptor: str) -> int:
        nat = self._add(("nat", name, descriptor),
                        b"\x0c" + struct.pack(">HH", self.utf8(name), self.utf8(descriptor)))
        return self._add(("method", owner, name, descriptor),
                         b"\x0a" + struct.pack(">HH", self.cls(owner), nat))

    def encoded(self) -> bytes:
        return struct.pack(">H", len(self.entries) + 1) + b"".join(self.entries)


class _Code:
    """Straight-line JVM bytecode (no branches, so no stack map frames are needed)."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.code = bytearray()

    def op(self, opcode: int, operand: int | None = None, width: int = 2) -> _Code:
        self.code.append(opcode)
        if operand is not None:
            self.code += operand.to_bytes(width, "big")
        return self

    def const(self, value: str) -> _Code:
        return self.op(0x13, self.pool.string(value))  # ldc_w

    def class_const(self, name: str) -> _Code:
        return self.op(0x13, self.pool.cls(name))  # ldc_w of a class (class files >= 49)

    def load(self, local: int) -> _Code:
        return self.op(0x19, local, 1)  # aload

    def store(self, local: int) -> _Code:
        return self.op(0x3A, local, 1)  # astore

    def call(self, owner: str, name: str, descriptor: str, *, static: bool = False) -> _Code:
        return self.op(0xB8 if static else 0xB6, self.pool.method(owner, name, descriptor))

    def array(self, element: str, items: list[_Item]) -> _Code:
        """A new ``element[]`` holding ``items`` (each pushes one reference; at most 5)."""
        self.op(0x03 + len(items))  # iconst_<n>
        self.op(0xBD, self.pool.cls(element))  # anewarray
        for i, item in enumerate(items):
            self.op(0x59).op(0x03 + i)  # dup, iconst_<i>
            item(self)
            self.op(0x53)  # aastore
        return self

    def reflect_call(self, target: int, name: str, types: list[_Item], args: list[_Item]) \
            -> _Code:
        """``target.getClass().getMethod(name, types).invoke(target, args)`` on the stack."""
        self.load(target).call(_OBJECT, *_GET_CLASS).const(name).array(_CLASS, types)
        self.call(_CLASS, *_GET_METHOD).load(target).array(_OBJECT, args)
        return self.call(_METHOD, *_INVOKE)


_Item = Callable[[_Code], object]


def launcher_class_bytes() -> bytes:
    """The class file of :data:`LAUNCHER_CLASS` (Java 8 format, runs on Java 17+)."""
    pool = _Pool()
    this, parent = pool.cls(LAUNCHER_CLASS), pool.cls(_OBJECT)
    c = _Code(pool)
    # locals: 0 args, 1 proxy, 2 field, 3 server, 4 connector
    c.const(_SERVER_RUNNER).call(_CLASS, "forName", "(Ljava/lang/String;)Ljava/lang/Class;",
                                 static=True)
    c.const("createServerFromCommandLineArgs")
    c.array(_CLASS, [lambda k: k.class_const("[Ljava/lang/String;")])
    c.call(_CLASS, *_GET_METHOD)
    c.op(0x01).array(_OBJECT, [lambda k: k.load(0)])  # aconst_null: a static method
    c.call(_METHOD, *_INVOKE).store(1)
    c.load(1).call(_OBJECT, *_GET_CLASS).const("server")
    c.call(_CLASS, "getDeclaredField", "(Ljava/lang/String;)Ljava/lang/reflect/Field;").store(2)
    c.load(2).op(0x04).call(_FIELD, "setAccessible", "(Z)V")  # iconst_1
    c.load(2).load(1).call(_FIELD, "get", "(Ljava/lang/Object;)Ljava/lang/Object;").store(3)
    c.reflect_call(3, "getConnectors", [], [])
    c.op(0xC0, pool.cls("[Ljava/lang/Object;")).op(0x03).op(0x32).store(4)  # [0]
    host = [lambda k: k.const(HOST_PROPERTY).call(
        "java/lang/System", "getProperty", "(Ljava/lang/String;)Ljava/lang/String;",
        static=True)]
    c.reflect_call(4, "setHost", [lambda k: k.class_const("java/lang/String")], host)
    c.op(0x57)  # pop
    c.reflect_call(1, "start", [], []).op(0x57).op(0xB1)  # pop, return
    code = bytes(c.code)
    body = struct.pack(">HHI", 10, 5, len(code)) + code + struct.pack(">HH", 0, 0)
    main = struct.pack(">HHHH", 0x0009, pool.utf8("main"), pool.utf8("([Ljava/lang/String;)V"),
                       1)
    main += struct.pack(">HI", pool.utf8("Code"), len(body)) + body
    head = b"\xca\xfe\xba\xbe" + struct.pack(">HH", 0, 52)
    rest = struct.pack(">HHHHHH", 0x0031, this, parent, 0, 0, 1)  # public final super
    return head + pool.encoded() + rest + main + struct.pack(">H", 0)


def write_launcher(directory: Path) -> Path:
    """Write ``<directory>/DyntableLocalLauncher.class`` (if not there yet); the directory
    goes on the JVM's class path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{LAUNCHER_CLASS}.class"
    data = launcher_class_bytes()
    if not path.is_file() or path.read_bytes() != data:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return directory
