"""Generated credentials: a password per run and role, stored as a SCRAM-SHA-256 verifier.

The kit hands PostgreSQL a verifier it computed itself rather than the password, so the password
never reaches the server's logs or catalogs, and it chooses the iteration count: the passwords are
128-bit random strings, which no dictionary holds, so a high count would only make each of the
run's connections slower (PostgreSQL's default of 4096 costs ~2 ms per side per connection).

Example:
    >>> len(new_password()), new_password() != new_password()
    (32, True)
    >>> verifier = scram_verifier("pencil", salt=b"0123456789abcdef", iterations=4096)
    >>> verifier.split("$")[:2]
    ['SCRAM-SHA-256', '4096:MDEyMzQ1Njc4OWFiY2RlZg==']
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRAM_ITERATIONS = 64


def new_password() -> str:
    """A fresh random password: 32 hex digits (128 bits)."""
    return secrets.token_hex(16)


def scram_verifier(password: str, *, salt: bytes | None = None,
                   iterations: int = SCRAM_ITERATIONS) -> str:
    """The ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` text PostgreSQL stores.

    ``password`` must be ASCII (SASLprep leaves ASCII unchanged, so no normalisation is needed).
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("ascii"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
