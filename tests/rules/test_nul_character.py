"""CG005: a NUL in SQL text, found statically, and what PostgreSQL does with it on the wire."""

from __future__ import annotations

import doctest
import os
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from convguard._check import check_source
from convguard._config import Config
from convguard.rules import _nul_character, _unsafe_raw, _untyped_parameters

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Config(root="/virtual", schema=str(ROOT / "fixtures" / "prisma" / "schema.prisma"))


def test_doctests_of_the_binding_rules() -> None:
    for module in (_nul_character, _unsafe_raw, _untyped_parameters):
        failures, tried = doctest.testmod(module)
        assert tried and not failures, module.__name__


@pytest.mark.parametrize(("suffix", "sql", "column"), [
    ("sql", 'SELECT id FROM "Lead" WHERE id = $1 \x00 AND junk', 37),
    ("ts", "SELECT id FROM \"Lead\" WHERE id <> '\\0'", 36),
    ("ts", "SELECT id FROM \"Lead\" WHERE id <> '\\x00'", 36),
    ("ts", "SELECT id FROM \"Lead\" WHERE id <> '\\u0000'", 36),
    ("ts", "SELECT id FROM \"Lead\" WHERE id <> '\\u{0}'", 36),
])
def test_nul_is_a_finding_not_cut_silently(suffix: str, sql: str, column: int) -> None:
    text = sql if suffix == "sql" else f"const q = prisma.$queryRaw`{sql}`;\n"
    offset = len("const q = prisma.$queryRaw`") if suffix == "ts" else 0
    result = check_source(f"/virtual/q.{suffix}", text, config=CONFIG)
    assert [(d.code, d.column) for d in result.diagnostics] == [("CG005", column + offset)]
    assert "08P01" in result.diagnostics[0].message


@pytest.mark.parametrize("sql", [
    "SELECT id FROM \"Lead\" WHERE id <> '\\\\0'",  # an escaped backslash, then 0
    "SELECT id FROM \"Lead\" WHERE id <> '\\01'",  # an octal escape is not \0
])
def test_escapes_that_are_not_nul(sql: str) -> None:
    text = f"const q = prisma.$queryRaw`{sql}`;\n"
    codes = {d.code for d in check_source("/virtual/q.ts", text, config=CONFIG).diagnostics}
    assert "CG005" not in codes


def test_backslash_zero_in_a_sql_file_is_text() -> None:
    sql = "SELECT id FROM \"Lead\" WHERE id <> E'\\\\0'"
    assert check_source("/virtual/q.sql", sql, config=CONFIG).diagnostics == ()


# -- on the server: what node-postgres' Parse message with a NUL gets -------------------------------

def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def _replies(sock: socket.socket) -> list[tuple[bytes, bytes]]:
    """Messages up to ReadyForQuery."""
    replies, buffer = [], b""
    while True:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        buffer += chunk
        while len(buffer) >= 5:
            length = struct.unpack("!I", buffer[1:5])[0]
            if len(buffer) < 1 + length:
                break
            replies.append((buffer[:1], buffer[5:1 + length]))
            buffer = buffer[1 + length:]
            if replies[-1][0] == b"Z":
                return replies


@pytest.fixture(scope="module")
def wire() -> Iterator[socket.socket]:
    """A raw protocol-3 session on the embedded server (node-postgres speaks it the same way)."""
    from convguard.kit.conformance.runner import Workbench
    from convguard.profiles.booking_conversion.schema import booking_schema

    with Workbench.start("embedded") as bench:
        connection: Any = bench.connection(booking_schema())
        # The server asks for a password (SCRAM): speak on the socket of a session psycopg has
        # already authenticated, and leave that session to us from here on.
        sock = socket.socket(fileno=os.dup(connection.pgconn.socket))
        sock.setblocking(True)  # psycopg made it non-blocking
        yield sock
        sock.close()


@pytest.mark.parametrize("sql", ["SELECT 1 \x00 AND junk", "SELECT '\x00'", "SELECT 1"])
def test_the_server_rejects_a_nul_in_the_statement_text(wire: socket.socket, sql: str) -> None:
    """Parse/Bind/Describe/Execute/Sync with untyped parameters, as node-postgres sends them."""
    text = sql.encode("utf-8") + b"\0"
    wire.sendall(_message(b"P", b"\0" + text + struct.pack("!H", 0))
                 + _message(b"B", b"\0\0" + struct.pack("!HHH", 0, 0, 0))
                 + _message(b"D", b"P\0") + _message(b"E", b"\0" + struct.pack("!I", 0))
                 + _message(b"S", b""))
    errors = [body for kind, body in _replies(wire) if kind == b"E"]
    if "\x00" in sql:
        assert errors and b"C08P01\0" in errors[0]
    else:
        assert errors == []
