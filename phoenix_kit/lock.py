"""The per-prefix migration lock: a transaction-scoped advisory lock.

Transaction-scoped so it is released by COMMIT or ROLLBACK, whatever happens
to the client (safe with poolers and failing steps). Its key is a stable
64-bit hash of the prefix, so different prefixes never wait on each other.
"""

from __future__ import annotations

import hashlib
import math

from .sqltext import set_local

# lock_timeout is an int of milliseconds on the server.
MAX_LOCK_TIMEOUT_MS = 2**31 - 1


def acquire_statement(prefix: str) -> str:
    """The statement that waits for the prefix's lock (the key is our own integer)."""
    return f"SELECT pg_catalog.pg_advisory_xact_lock({lock_key(prefix)})"

def set_lock_timeout(value: str) -> str:
    """The statement setting ``lock_timeout`` for the rest of the transaction."""
    return set_local("lock_timeout", value)


# A bigint advisory lock shows in pg_locks as classid = high 32 bits,
# objid = low 32 bits, objsubid = 1. Operators are named with their schema:
# a read must not depend on the session's search_path either.
HOLDER_QUERY = """
SELECT pid FROM pg_catalog.pg_locks
WHERE locktype OPERATOR(pg_catalog.=) 'advisory'::pg_catalog.text AND granted
  AND objsubid OPERATOR(pg_catalog.=) 1::pg_catalog.int2
  AND database OPERATOR(pg_catalog.=) (SELECT oid FROM pg_catalog.pg_database
                                        WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
  AND classid OPERATOR(pg_catalog.=) %s::pg_catalog.oid AND objid OPERATOR(pg_catalog.=) %s::pg_catalog.oid
LIMIT 1
"""


def lock_key(prefix: str) -> int:
    return _key(f"phoenix_kit:{prefix}")


def _key(name: str) -> int:
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# Held while V01 creates the citext extension ('/' cannot occur in a prefix, so
# no prefix's key can equal it).
EXTENSION_LOCK_KEY = _key("phoenix_kit/extensions")


def holder_params(key: int) -> tuple[int, int]:
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def timeout_setting(seconds: float) -> str:
    """``lock_timeout`` value for ``seconds`` (0 would mean "wait forever": use 1 ms).

    Raises ``ValueError`` for what the server would refuse (NaN, infinity, more than
    about 24 days), so callers can check it before sending any SQL.
    """
    if not math.isfinite(seconds) or seconds * 1000 > MAX_LOCK_TIMEOUT_MS:
        raise ValueError(
            f"lock_timeout must be a finite number of seconds up to {MAX_LOCK_TIMEOUT_MS // 1000}, got {seconds!r}"
        )
    return f"{max(1, round(seconds * 1000))}ms"
