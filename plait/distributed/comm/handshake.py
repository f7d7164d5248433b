"""The handshake that opens every comm: shared-secret proof before any message is read.

``connect`` and ``listen`` run it on each new comm, whatever the transport, before the
comm is handed to its user. Four small messages (msgpack dicts of bytes, strings and
booleans, read with ``deserialize=False``: nothing can be unpickled)::

    client -> server  {"plait-handshake": 1, "role": str, "challenge": cc (32 random bytes)}
    server -> client  {"plait-handshake": 1, "challenge": cs (32 random bytes),
                       "secret": bool (this server requires a shared secret)}
    client -> server  {"plait-handshake": 1,
                       "proof": HMAC-SHA256(secret, "plait client" | cs | cc) or None}
    server -> client  {"plait-handshake": 1, "status": "OK",
                       "proof": HMAC-SHA256(secret, "plait server" | cs | cc) or None}
                  or  {"plait-handshake": 1, "status": "refused", "reason": str}

The client speaks first, so a peer of the wrong kind (plain TCP against TLS, TLS against
plain TCP, something that is not plait) fails at once instead of both sides waiting.
The server checks the client's proof with a constant-time compare, then the client
checks the server's: each side learns that the other holds the secret, the secret itself
never travels, and fresh challenges on both sides make a recorded exchange useless. A
server with a secret drops a client without a valid proof and logs who it refused; a
client with a secret refuses a server that does not ask for one, so it never reads
pickled data from a peer it cannot trust. Until the handshake is done the transport
accepts only small frames (``PREAUTH_MAX_FRAME``), so an unauthenticated peer cannot make
the server allocate much.

A secret authenticates the peers, not each later message: on an untrusted network use
``tls://`` as well, which also encrypts.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
from typing import Any

from plait.distributed.comm.core import AuthenticationError, Comm, CommClosedError

__all__ = ["PREAUTH_MAX_FRAME", "client_handshake", "server_handshake"]

logger = logging.getLogger("plait.distributed.comm")

VERSION = 1
_TAG = "plait-handshake"
_NONCE = 32
#: Largest frame accepted from a peer before its handshake is done.
PREAUTH_MAX_FRAME = 4096
_FIX = ("set the same secret on every process: Security(secret=...), config "
        "distributed.security.secret, the PLAIT_SECRET environment variable, or "
        "--secret on the command line")


def _proof(secret: bytes, label: bytes, server_challenge: bytes,
           client_challenge: bytes) -> bytes:
    return hmac.new(secret, label + server_challenge + client_challenge,
                    hashlib.sha256).digest()


def _valid(msg: Any, *fields: str) -> bool:
    return (type(msg) is dict and msg.get(_TAG) == VERSION
            and all(f in msg for f in fields))


async def _read(comm: Comm, timeout: float) -> Any:
    return await asyncio.wait_for(comm.read(deserialize=False), timeout)


def _drop(comm: Comm, level: int, what: str, *args: Any) -> bool:
    logger.log(level, "refused a connection from %s to %s: " + what,
               comm.peer_address, comm.local_address, *args)
    comm.abort()
    return False


async def server_handshake(comm: Comm, secret: bytes | None, timeout: float,
                           max_frame_size: int | None = None) -> bool:
    """Run the server side on a freshly accepted ``comm``; True when the peer may go on.

    ``max_frame_size`` is set on the comm once the peer is accepted, before the final
    reply goes out (the peer may write its first message as soon as it reads it).
    A refused or broken handshake is logged and the comm is closed.
    """
    challenge = os.urandom(_NONCE)
    try:
        hello = await _read(comm, timeout)
        if not _valid(hello, "challenge") or not isinstance(hello["challenge"], bytes) \
                or len(hello["challenge"]) != _NONCE:
            return _drop(comm, logging.WARNING, "it did not send a plait handshake")
        await comm.write({_TAG: VERSION, "challenge": challenge,
                          "secret": secret is not None})
        msg = await _read(comm, timeout)
    except (CommClosedError, OSError, asyncio.TimeoutError) as exc:
        return _drop(comm, logging.INFO, "closed or timed out during the handshake (%s)",
                     exc or type(exc).__name__)
    except Exception as exc:  # bytes that are not a message: not a plait peer
        return _drop(comm, logging.WARNING, "unreadable handshake (%s: %s)",
                     type(exc).__name__, exc)
    if not _valid(msg, "proof"):
        return _drop(comm, logging.WARNING, "it did not send a plait handshake")
    role = hello.get("role")
    role = role[:20] if isinstance(role, str) else "?"
    reply: dict = {_TAG: VERSION, "status": "OK", "proof": None}
    if secret is not None:
        proof = msg["proof"]
        expected = _proof(secret, b"plait client", challenge, hello["challenge"])
        if not isinstance(proof, bytes) or not hmac.compare_digest(proof, expected):
            reason = ("this server requires a shared secret and none was presented"
                      if proof is None else "the shared secret presented is wrong")
            try:  # tell a misconfigured peer why, in a bounded time
                await asyncio.wait_for(comm.write(
                    {_TAG: VERSION, "status": "refused", "reason": reason}), 1)
            except Exception:
                pass
            return _drop(comm, logging.WARNING, "%s (role %s)", reason, role)
        reply["proof"] = _proof(secret, b"plait server", challenge, hello["challenge"])
    if max_frame_size is not None:
        comm.set_max_frame_size(max_frame_size)
    try:
        await comm.write(reply)
    except (CommClosedError, OSError):
        comm.abort()
        return False
    return True


async def client_handshake(comm: Comm, secret: bytes | None, role: str, address: str,
                           timeout: float) -> None:
    """Run the client side on a new ``comm`` to ``address``.

    Raises ``AuthenticationError`` (a ``ConnectionError``) naming the address and the
    fix when either side refuses, and closes the comm.
    """
    mine = os.urandom(_NONCE)
    try:
        await comm.write({_TAG: VERSION, "role": role, "challenge": mine})
        hello = await _read(comm, timeout)
        if not _valid(hello, "challenge", "secret") or not isinstance(hello["challenge"], bytes):
            raise AuthenticationError(f"{address} did not answer with a plait handshake: "
                                      f"is it a plait scheduler or worker?")
        if secret is not None and not hello["secret"]:
            raise AuthenticationError(
                f"{address} does not ask for a shared secret, but this process has one: "
                f"refusing a server that cannot prove it knows it. Start that server "
                f"with the same secret, or connect with security=False")
        proof = (None if secret is None
                 else _proof(secret, b"plait client", hello["challenge"], mine))
        await comm.write({_TAG: VERSION, "proof": proof})
        answer = await _read(comm, timeout)
        if not _valid(answer, "status"):
            raise AuthenticationError(f"{address} sent a malformed handshake reply")
        if answer["status"] != "OK":
            reason = answer.get("reason") if isinstance(answer.get("reason"), str) else "?"
            raise AuthenticationError(f"{address} refused this connection: {reason}; "
                                      f"{_FIX}")
        if secret is not None:
            expected = _proof(secret, b"plait server", hello["challenge"], mine)
            theirs = answer.get("proof")
            if not isinstance(theirs, bytes) or not hmac.compare_digest(theirs, expected):
                raise AuthenticationError(
                    f"{address} could not prove it knows the shared secret: refusing it")
    except AuthenticationError:
        comm.abort()
        raise
    except CommClosedError as exc:
        comm.abort()
        raise AuthenticationError(
            f"{address} closed the connection during the handshake (it may require TLS "
            f"or a shared secret this connection lacks): {exc}") from exc
    except asyncio.TimeoutError:
        comm.abort()
        raise AuthenticationError(f"{address} did not complete the handshake within "
                                  f"{timeout:g} s") from None
    except Exception as exc:
        comm.abort()
        raise AuthenticationError(f"{address} sent an unreadable handshake: "
                                  f"{type(exc).__name__}: {exc}") from exc
