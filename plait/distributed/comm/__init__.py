"""Messages between plait's distributed processes: transports, framing, batching.

See the module docstrings of ``core`` (comms, addresses), ``serialize`` (what a
message may hold), ``tcp``/``inproc`` (transports) and ``batched`` (``BatchedSend``).
"""

from plait.distributed.comm import inproc, tcp  # noqa: F401  (register the schemes)
from plait.distributed.comm.batched import BatchedSend
from plait.distributed.comm.core import (
    Comm, CommClosedError, ConnectTimeoutError, Listener, connect, listen, normalize_address,
    parse_address, parse_host_port, register_backend, unparse_address, unparse_host_port,
)
from plait.distributed.comm.serialize import (
    DeserializationError, SerializationError, Serialize, Serialized, deserialize, dumps,
    loads, serialize, to_serialize,
)

__all__ = [
    "BatchedSend", "Comm", "CommClosedError", "ConnectTimeoutError", "DeserializationError",
    "Listener", "SerializationError", "Serialize", "Serialized", "connect", "deserialize",
    "dumps", "listen", "loads", "normalize_address", "parse_address", "parse_host_port",
    "register_backend", "serialize", "to_serialize", "unparse_address", "unparse_host_port",
]
