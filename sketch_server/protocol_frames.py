"""Framing: one WebSocket frame to a map and back, msgpack for binary frames and JSON for text,
with the size and nesting limits applied before anything is built from a frame.

Part of the wire protocol (import it through `protocol`). Pure stdlib + msgpack; the add-ons copy
it beside protocol.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

try:
    from .vendor import msgpack  # inside an installed add-on: its own copy, never on sys.path
except ImportError:  # the server, or the add-ons in a repository checkout
    import msgpack

from .protocol_core import (
    MAX_CONTAINERS,
    MAX_FRAME_BYTES,
    MAX_POINTS,
    ProtocolError,
    _bad,
    _kind,
    _Message,
    readable_id,
)

_TOO_MANY_CONTAINERS = (
    f"frame holds more than {MAX_CONTAINERS} lists and maps; "
    f"a request may carry at most {MAX_POINTS} points"
)


def _container_budget() -> Callable[[Any], Any]:
    """An unpacker hook that lets MAX_CONTAINERS lists and maps through, then aborts."""
    left = [MAX_CONTAINERS]

    def hook(obj: Any) -> Any:
        left[0] -= 1
        if left[0] < 0:
            raise ProtocolError("too_large", _TOO_MANY_CONTAINERS)
        return obj

    return hook


def _reject_constant(name: str) -> Any:
    raise _bad(f"text frame contains {name}; numbers must be finite")


def _frame_map(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, Mapping):
        raise _bad(f"frame must be a map with a 'type' field, not {_kind(obj)}")
    odd = next((k for k in obj if not isinstance(k, str)), None)
    if odd is not None:  # a msgpack bin key would otherwise be ignored as an unknown field
        raise ProtocolError(
            "bad_request",
            f"every key must be a string; the frame has a {_kind(odd)} key",
            readable_id({k: v for k, v in obj.items() if isinstance(k, str)}),
        )
    if "type" not in obj:
        raise ProtocolError("bad_request", "frame has no 'type' field", readable_id(obj))
    if not isinstance(obj["type"], str):
        raise ProtocolError(
            "bad_request", f"type must be a string, not {_kind(obj['type'])}", readable_id(obj)
        )
    return dict(obj)


def decode(frame: bytes | bytearray | memoryview | str) -> dict[str, Any]:
    """One WebSocket frame as a map with a string `type`: msgpack if binary, JSON if text."""
    text = isinstance(frame, str)
    if isinstance(frame, str):
        size = len(frame.encode("utf-8", "surrogatepass"))
    else:
        size = memoryview(frame).nbytes
    if size > MAX_FRAME_BYTES:
        raise ProtocolError("too_large", f"frame is {size} bytes; the limit is {MAX_FRAME_BYTES}")
    try:
        if isinstance(frame, str):
            # An upper bound (brackets inside strings count too); json has no hook for lists.
            if frame.count("[") + frame.count("{") > MAX_CONTAINERS:
                raise ProtocolError("too_large", _TOO_MANY_CONTAINERS)
            obj = json.loads(frame, parse_constant=_reject_constant)
        else:
            hook = _container_budget()
            obj = msgpack.unpackb(
                frame,
                raw=False,
                strict_map_key=True,
                use_list=True,
                list_hook=hook,
                object_hook=hook,
                max_str_len=MAX_FRAME_BYTES,
                max_bin_len=MAX_FRAME_BYTES,
                max_array_len=MAX_FRAME_BYTES,
                max_map_len=MAX_FRAME_BYTES // 2,
                max_ext_len=0,
            )
    except ProtocolError as e:
        if e.code == "bad_request" and e.id is None:  # NaN or Infinity: the rest may be readable
            e.id = _salvaged_id(frame)
        raise
    except json.JSONDecodeError as e:
        raise ProtocolError(
            "bad_request",
            f"text frame is not valid JSON: {e.msg} at character {e.pos}",
            _salvaged_id(frame),
        ) from None
    except Exception:  # anything else the parser raises (nesting, huge ints) means a bad frame
        raise ProtocolError(
            "bad_request",
            "text frame is not valid JSON" if text else "binary frame is not valid msgpack",
            _salvaged_id(frame),
        ) from None
    return _frame_map(obj)


def _salvaged_id(frame: bytes | bytearray | memoryview | str) -> Any:
    """The id of a frame refused as a whole whose first map could still be read (trailing
    bytes, an ext value, a non-string key), so that its error names the request; else None.
    Read under the same size and nesting limits as the frame itself."""
    try:
        if isinstance(frame, str):
            obj, _ = json.JSONDecoder(parse_constant=lambda name: None).raw_decode(frame)
        else:
            hook = _container_budget()
            unpacker = msgpack.Unpacker(
                raw=False,
                strict_map_key=False,
                list_hook=hook,
                object_hook=hook,
                ext_hook=lambda code, data: None,
                max_buffer_size=MAX_FRAME_BYTES,
                max_ext_len=MAX_FRAME_BYTES,
            )
            unpacker.feed(frame)
            obj = unpacker.unpack()
    except Exception:
        return None
    return readable_id(obj) if isinstance(obj, Mapping) else None


def _base64(v: Any) -> str:
    """Bytes (a raster's PNG) as base64 text, since JSON has no binary type."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode("ascii")
    raise TypeError(f"{type(v).__name__} cannot go in a JSON frame")


def encode(msg: _Message | Mapping[str, Any], *, binary: bool = True) -> bytes | str:
    """One frame for `msg`: msgpack bytes for a binary frame, compact JSON for a text frame.

    Raises ProtocolError too_large if the peer would refuse the frame for its size.
    """
    wire = dict(msg) if isinstance(msg, Mapping) else msg.to_wire()
    if binary:
        data: bytes | str = msgpack.packb(wire, use_bin_type=True)
        size = len(data)
    else:
        data = json.dumps(
            wire, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_base64
        )
        size = len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(
            "too_large", f"{wire.get('type')} frame is {size} bytes; the limit is {MAX_FRAME_BYTES}"
        )
    return data
