"""AI-Sketcher wire protocol v1: the wire's numbers, message types, strict validation and
framing.

docs/protocol.md is the specification this implements. Pure stdlib plus msgpack (the add-ons
get their own copy in wire/vendor/), so the server, the Krita and Blender add-ons and the tests
share this one file. Sections: the numbers; the field checks; the message base and `error`;
framing (one WebSocket frame to a map and back, msgpack or JSON, with the size and nesting limits
applied before anything is built from a frame); the messages and parsing.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, cast

from .vendor import msgpack

if TYPE_CHECKING:
    from typing import Self  # typing.Self is 3.11+; a host embedding an older Python lacks it

__all__ = [  # what the add-ons, the server and the tests use
    "VERSION",
    "PROTOCOL_VERSION",
    "DEFAULT_ALTERNATIVES",
    "DEFAULT_PORT",
    "MAX_FRAME_BYTES",
    "MAX_RASTER_BYTES",
    "MAX_RASTER_SIDE",
    "PNG_MAGIC",
    "JPEG_MAGIC",
    "MAX_STROKES",
    "MAX_POINTS",
    "MAX_N",
    "MIN_TEMPERATURE",
    "MAX_TEMPERATURE",
    "DEFAULT_TEMPERATURE",
    "DEFAULT_MAX_POINTS",
    "DEFAULT_STRENGTH",
    "MAX_GUIDE_K",
    "DEFAULT_GUIDE_K",
    "MAX_MAX_POINTS",
    "MAX_ID_LEN",
    "MAX_NAME_LEN",
    "MAX_TOKEN_LEN",
    "MAX_CONDITIONS",
    "MAX_CHARACTER_LEN",
    "CHARACTER_FORMAT",
    "MAX_CONTAINERS",
    "INT_MIN",
    "INT_MAX",
    "MODES",
    "ERROR_CODES",
    "Point",
    "Stroke",
    "Sketch",
    "RequestId",
    "ProtocolError",
    "Error",
    "png_size",
    "character_text",
    "character_parts",
    "readable_id",
    "Hello",
    "ModelInfo",
    "Welcome",
    "Raster",
    "Suggest",
    "Cancel",
    "StrokeChunk",
    "Done",
    "Guide",
    "GuideDrawing",
    "GuideResult",
    "Trace",
    "ClientMessage",
    "ServerMessage",
    "Message",
    "parse_client_message",
    "parse_server_message",
    "decode",
    "encode",
]


# --- the wire's numbers: version, port, limits and defaults (docs/protocol.md lists them) -----

PROTOCOL_VERSION = 1
# The project's version, written here only: pyproject.toml reads it, the server and the add-ons
# name themselves with it, and the page gets it from the server (/wire.js).
VERSION = "0.1.0"
# The port the server listens on and the add-ons try first (an arbitrary unprivileged one).
DEFAULT_PORT = 8737
# 12 MiB: room for a raster's largest PNG (8 MB) as base64 text in a JSON frame.
MAX_FRAME_BYTES = 12 << 20
MAX_RASTER_BYTES = 8_000_000  # a paint layer's PNG, before base64
MAX_RASTER_SIDE = 4096  # pixels, each way
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
MAX_STROKES = 1000  # per request
MAX_POINTS = 20000  # per request, all strokes together; also per done message
MAX_N = 8
MIN_TEMPERATURE = 0.01
MAX_TEMPERATURE = 2.0
DEFAULT_TEMPERATURE = 0.5
DEFAULT_MAX_POINTS = 250
DEFAULT_STRENGTH = 0.5  # refine: halfway between the artist's drawing and the library's
MAX_GUIDE_K = 16
DEFAULT_GUIDE_K = 4
DEFAULT_ALTERNATIVES = 3  # the `n` the add-ons and the page ask for until the artist changes it
MAX_MAX_POINTS = 1000
MAX_ID_LEN = 64
MAX_NAME_LEN = 128  # client, model and condition names and values
MAX_TOKEN_LEN = 1024
MAX_CONDITIONS = 32
MAX_CHARACTER_LEN = 4096  # base64 characters of a `character`: about 1,500 numbers
CHARACTER_FORMAT = 1  # a character's first byte; then 4 bytes naming its model, then fp16s
# Lists + maps one frame may hold; caps how far a small hostile frame can inflate in memory.
MAX_CONTAINERS = 2 * (MAX_POINTS + MAX_STROKES)
INT_MIN, INT_MAX = -(1 << 63), (1 << 64) - 1  # what msgpack can carry; bounds ids and seeds

MODES = ("complete", "generate", "refine")
ERROR_CODES = (
    "bad_request",
    "unsupported_protocol",
    "unauthorized",
    "unknown_model",
    "unknown_condition",
    "too_large",
    "busy",
    "internal",
)

Point = tuple[float, float]
Stroke = tuple[Point, ...]
Sketch = tuple[Stroke, ...]
RequestId = str | int


class ProtocolError(Exception):
    """A frame or message breaks the protocol; `to_error()` makes the `error` reply to send."""

    def __init__(self, code: str, message: str, id: RequestId | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.id = id

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_error(self) -> Error:
        """The `error` message that reports this problem to the peer."""
        return Error(code=self.code, message=self.message, id=self.id)


# --- validation helpers; `path` names the offending field in every message -------------------


def _bad(message: str) -> ProtocolError:
    return ProtocolError("bad_request", message)


def _kind(v: Any) -> str:
    """The wire-level name of a value's type, for error messages."""
    for t, name in (
        (type(None), "null"),
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (bytes, "binary"),
        ((list, tuple), "list"),
        (Mapping, "map"),
    ):
        if isinstance(v, t):
            return name
    return type(v).__name__


def _show(v: Any) -> str:
    """A short printable form of a value that may be huge or hostile."""
    if isinstance(v, (list, tuple, Mapping)):
        return f"a {_kind(v)}"  # repr of a deeply nested frame could exhaust the stack
    try:
        text = repr(v)
    except ValueError:  # ints over 4300 digits refuse str()
        return "a huge integer"
    return text if len(text) <= 40 else text[:37] + "..."


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)  # normalise fields of a frozen dataclass


def _int(v: Any, path: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _bad(f"{path} must be an integer, not {_kind(v)}")
    if not lo <= v <= hi:
        raise _bad(f"{path} must be between {lo} and {hi}, not {_show(v)}")
    return int(v)


def _num(v: Any, path: str, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _bad(f"{path} must be a number, not {_kind(v)}")
    try:
        f = float(v)
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise _bad(f"{path} must be a finite number, not {_show(v)}")
    if not lo <= f <= hi:
        raise _bad(f"{path} must be between {lo} and {hi}, not {_show(v)}")
    return f


def _bool(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise _bad(f"{path} must be true or false, not {_kind(v)}")
    return v


def _text(v: Any, path: str, max_len: int | None = None) -> str:
    if not isinstance(v, str):
        raise _bad(f"{path} must be a string, not {_kind(v)}")
    if not v:
        raise _bad(f"{path} must not be empty")
    if max_len is not None and len(v) > max_len:
        raise _bad(f"{path} is {len(v)} characters long; the limit is {max_len}")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from JSON: no reply could carry it back
        raise _bad(f"{path} is not valid Unicode text (it holds a lone surrogate)") from None
    return str(v)


def _id(v: Any) -> RequestId:
    if isinstance(v, str):
        return _text(v, "id", MAX_ID_LEN)
    if isinstance(v, int) and not isinstance(v, bool):
        return _int(v, "id", INT_MIN, INT_MAX)
    raise _bad(f"id must be a string or an integer, not {_kind(v)}")


def _list(v: Any, path: str, of: str) -> list[Any] | tuple[Any, ...]:
    if not isinstance(v, (list, tuple)):
        raise _bad(f"{path} must be a list of {of}, not {_kind(v)}")
    return v


def _map(v: Any, path: str) -> Mapping[Any, Any]:
    if not isinstance(v, Mapping):
        raise _bad(f"{path} must be a map, not {_kind(v)}")
    return v


def _stroke(v: Any, path: str) -> Stroke:
    """One polyline as a tuple of float pairs; a stroke needs at least 2 points."""
    _list(v, path, "[x, y] points")
    if len(v) < 2:
        raise _bad(
            f"{path} has {len(v)} point{'' if len(v) == 1 else 's'}; a stroke needs at least 2"
        )
    out = []
    for j, p in enumerate(v):
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            what = f"a list of {len(p)}" if isinstance(p, (list, tuple)) else _kind(p)
            raise _bad(f"{path}[{j}] must be an [x, y] pair, not {what}")
        x, y = p
        if (
            isinstance(x, bool)
            or isinstance(y, bool)
            or not isinstance(x, (int, float))
            or not isinstance(y, (int, float))
        ):
            raise _bad(f"{path}[{j}] must hold two numbers, not [{_kind(x)}, {_kind(y)}]")
        try:
            fx, fy = float(x), float(y)
        except OverflowError:
            fx = fy = math.inf
        if not (math.isfinite(fx) and math.isfinite(fy)):
            raise _bad(f"{path}[{j}] has a value that is not finite")
        out.append((fx, fy))
    return tuple(out)


def _count_points(strokes: Any) -> int:
    return sum(len(s) for s in strokes if isinstance(s, (list, tuple)))


def _sketch(v: Any, path: str) -> Sketch:
    """A list of strokes, checked against the per-request stroke and point limits."""
    _list(v, path, "strokes")
    if len(v) > MAX_STROKES:
        raise ProtocolError("too_large", f"{path} has {len(v)} strokes; the limit is {MAX_STROKES}")
    total = _count_points(v)
    if total > MAX_POINTS:
        raise ProtocolError(
            "too_large", f"{path} has {total} points in total; the limit is {MAX_POINTS}"
        )
    return tuple(_stroke(s, f"{path}[{i}]") for i, s in enumerate(v))


def _box(v: Any, path: str) -> tuple[float, float, float, float]:
    """A box [x0, y0, x1, y1] of finite numbers with x0 < x1 and y0 < y1."""
    b = _list(v, path, "4 numbers [x0, y0, x1, y1]")
    if len(b) != 4:
        raise _bad(f"{path} must be 4 numbers [x0, y0, x1, y1], not a list of {len(b)}")
    x0, y0, x1, y1 = (_num(x, f"{path}[{i}]", -math.inf, math.inf) for i, x in enumerate(b))
    if not (x0 < x1 and y0 < y1):
        raise _bad(f"{path} [{x0:g}, {y0:g}, {x1:g}, {y1:g}] must have x0 < x1 and y0 < y1")
    return (x0, y0, x1, y1)


def _image_bytes(v: Any, path: str, kind: str) -> bytes:
    """Image bytes (msgpack bin, or base64 text in JSON), checked by size only."""
    if isinstance(v, str):
        if len(v) > MAX_RASTER_BYTES * 4 // 3 + 4:
            raise ProtocolError(
                "too_large",
                f"{path} is over {MAX_RASTER_BYTES} bytes; select a smaller area and try again",
            )
        try:
            v = base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError):
            raise _bad(f"{path} is text but not valid base64") from None
    elif isinstance(v, (bytearray, memoryview)):
        v = bytes(v)
    if not isinstance(v, bytes):
        raise _bad(f"{path} must be {kind} bytes (binary, or base64 text in JSON), not {_kind(v)}")
    if len(v) > MAX_RASTER_BYTES:
        raise ProtocolError(
            "too_large",
            f"{path} is {len(v)} bytes; the limit is {MAX_RASTER_BYTES}; "
            "select a smaller area and try again",
        )
    return v


def _png(v: Any, path: str) -> bytes:
    """PNG bytes, checked by size and IHDR header only (the decoder checks the rest)."""
    data = _image_bytes(v, path, "PNG")
    if len(data) < 24 or data[:8] != PNG_MAGIC or data[12:16] != b"IHDR":
        raise _bad(f"{path} is not a PNG image (it must start with the PNG signature and IHDR)")
    width, height = struct.unpack(">II", data[16:24])
    if not (width and height):
        raise _bad(f"{path} is {width} x {height} pixels; it must have at least one pixel")
    if width > MAX_RASTER_SIDE or height > MAX_RASTER_SIDE:
        raise ProtocolError(
            "too_large",
            f"{path} is {width} x {height} pixels; the limit is {MAX_RASTER_SIDE} x "
            f"{MAX_RASTER_SIDE}; select a smaller area and try again",
        )
    return data


def _photo(v: Any, path: str) -> bytes:
    """PNG or JPEG bytes, checked by size and signature (the decoder checks the rest)."""
    data = _image_bytes(v, path, "PNG or JPEG")
    if data[:3] == JPEG_MAGIC:
        return data
    if data[:8] == PNG_MAGIC:
        return _png(data, path)
    raise _bad(f"{path} is not a PNG or JPEG image (it must start with either's signature)")


def _character(v: Any, path: str) -> str:
    """A character as the server made it: base64 of the format byte, the 4-byte id of the model
    that made it, and its numbers as little-endian float16, every one finite. Whether it fits
    the model a request names is the server's check (it knows the models)."""
    if not isinstance(v, str):
        raise _bad(f"{path} must be a string (a character from a done message), not {_kind(v)}")
    if len(v) > MAX_CHARACTER_LEN:
        raise _bad(f"{path} is {len(v)} characters long; the limit is {MAX_CHARACTER_LEN}")
    try:
        raw = base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(
            f"{path} is not valid base64; send back a character exactly as done gave it"
        ) from None
    if len(raw) < 7 or raw[0] != CHARACTER_FORMAT or (len(raw) - 5) % 2:
        raise _bad(f"{path} is not a character (send back one exactly as done gave it)")
    for (h,) in struct.iter_unpack("<H", raw[5:]):
        if h & 0x7C00 == 0x7C00:  # all exponent bits set: infinity or NaN
            raise _bad(f"{path} holds a number that is not finite; it was damaged on the way")
    return v


def character_parts(text: str) -> tuple[bytes, bytes]:
    """A checked character's (model id, float16 bytes)."""
    raw = base64.b64decode(text)
    return raw[1:5], raw[5:]


def character_text(model_id: bytes, halves: bytes) -> str:
    """The character of a model (its 4-byte id) and numbers (little-endian float16 bytes)."""
    if len(model_id) != 4 or not halves or len(halves) % 2:
        raise ValueError("a character needs a 4-byte model id and at least one float16")
    return base64.b64encode(bytes([CHARACTER_FORMAT]) + model_id + halves).decode("ascii")


def png_size(png: bytes) -> tuple[int, int]:
    """A checked PNG's (width, height) in pixels, read from its IHDR chunk."""
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _condition_map(v: Any, path: str, lists: bool) -> Mapping[str, Any]:
    """A read-only map of condition names to a name each, or to a list of names if `lists`."""
    _map(v, path)
    if len(v) > MAX_CONDITIONS:
        raise _bad(f"{path} has {len(v)} entries; the limit is {MAX_CONDITIONS}")
    out = {}
    for k, item in v.items():
        if not isinstance(k, str) or not k or len(k) > MAX_NAME_LEN:
            raise _bad(
                f"{path} has a key {_show(k)} that is not a name "
                f"(a string of 1 to {MAX_NAME_LEN} characters)"
            )
        p = f"{path}.{k}"
        out[k] = (
            tuple(
                _text(x, f"{p}[{i}]", MAX_NAME_LEN) for i, x in enumerate(_list(item, p, "strings"))
            )
            if lists
            else _text(item, p, MAX_NAME_LEN)
        )
    return MappingProxyType(out)


def _protocol(v: Any) -> int:
    if _int(v, "protocol", INT_MIN, INT_MAX) != PROTOCOL_VERSION:
        raise ProtocolError(
            "unsupported_protocol",
            f"protocol {v} is not supported; this side speaks {PROTOCOL_VERSION}",
        )
    return PROTOCOL_VERSION


def _expect(d: Any, type_: str) -> Mapping[str, Any]:
    """`d` as a map whose `type` is `type_`."""
    if not isinstance(d, Mapping):
        raise _bad(f"a {type_} message must be a map, not {_kind(d)}")
    if d.get("type") != type_:
        raise _bad(f"expected a {type_} message, not type {_show(d.get('type'))}")
    return d


def _plain(v: Any) -> Any:
    """`v` with tuples as lists and maps as dicts: the form that goes on the wire."""
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    return v.to_wire() if isinstance(v, _Message) else v


def readable_id(d: Mapping[str, Any]) -> RequestId | None:
    """The frame's request id if it is a valid one, for errors raised before full parsing."""
    rid = d.get("id")
    if isinstance(rid, str) and 0 < len(rid) <= MAX_ID_LEN:
        return rid
    if isinstance(rid, int) and not isinstance(rid, bool) and INT_MIN <= rid <= INT_MAX:
        return rid
    return None


# --- messages: the base class and the error every ProtocolError becomes ----------------------


class _Message:
    """Shared wire conversion: fields map 1:1 to keys, None fields are left out."""

    TYPE: ClassVar[str] = ""  # "" for ModelInfo, which is part of a message, not one itself
    _WIRE_REQUIRED: ClassVar[tuple[str, ...]] = ()  # fields with a Python default the wire needs

    def __post_init__(self) -> None:
        id_field = self.__dataclass_fields__.get("id")  # type: ignore[attr-defined]
        rid = getattr(self, "id", None)
        if id_field is not None and (rid is not None or id_field.default is MISSING):
            _set(self, "id", _id(rid))
        try:
            self._check()
        except ProtocolError as e:
            e.id = e.id if rid is None else self.id  # type: ignore[attr-defined]
            raise

    def _check(self) -> None:
        """Validate and normalise the fields in place; raise ProtocolError naming the field."""

    def to_wire(self) -> dict[str, Any]:
        """This message as the map that goes into a frame."""
        out = {"type": self.TYPE} if self.TYPE else {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if v is not None:
                out[f.name] = _plain(v)
        return out

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> Self:
        """Validate a decoded map; unknown keys are ignored and null means absent."""
        d = _expect(d, cls.TYPE) if cls.TYPE else _map(d, "model")
        names = cls.__dataclass_fields__  # type: ignore[attr-defined]
        rid = _id(d["id"]) if "id" in names and d.get("id") is not None else None  # errors carry it
        if "protocol" in names and d.get("protocol") is not None:
            _protocol(d["protocol"])  # before anything else: other versions may differ in shape
        try:
            kwargs = {}
            for f in fields(cls):  # type: ignore[arg-type]
                v = d.get(f.name)
                if v is not None:
                    kwargs[f.name] = v
                elif f.name in cls._WIRE_REQUIRED or (
                    f.default is MISSING and f.default_factory is MISSING
                ):
                    raise _bad(f"{f.name} is required")
            return cls(**kwargs)
        except ProtocolError as e:
            e.id = rid if e.id is None else e.id
            raise


@dataclass(frozen=True, kw_only=True)
class Error(_Message):
    """server -> client: a request or frame was refused; `id` names the request when known."""

    TYPE: ClassVar[str] = "error"
    id: RequestId | None = None
    code: str
    message: str

    def _check(self) -> None:
        if not isinstance(self.code, str) or self.code not in ERROR_CODES:
            raise _bad(f"code {_show(self.code)} is not one of {', '.join(ERROR_CODES)}")
        _text(self.message, "message")


# --- framing ----------------------------------------------------------------------------------

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


# --- the messages and parsing -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Hello(_Message):
    """client -> server, must be the first frame: names the client and carries the token."""

    TYPE: ClassVar[str] = "hello"
    _WIRE_REQUIRED: ClassVar[tuple[str, ...]] = ("protocol",)
    protocol: int = PROTOCOL_VERSION
    client: str  # "name/version", e.g. "krita-ai-sketcher/0.1.0"
    token: str | None = None

    def _check(self) -> None:
        _protocol(self.protocol)
        _text(self.client, "client", MAX_NAME_LEN)
        if self.token is not None:
            _text(self.token, "token", MAX_TOKEN_LEN)


@dataclass(frozen=True, kw_only=True)
class ModelInfo(_Message):
    """One model a server offers: allowed values per condition and the modes it can run."""

    _WIRE_REQUIRED: ClassVar[tuple[str, ...]] = ("modes",)
    name: str
    description: str = ""
    # Condition name -> allowed values; an empty tuple means any non-empty string is accepted.
    conditions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    modes: tuple[str, ...] = MODES
    library: Mapping[str, Any] | None = None  # {size, licence, source} of its real drawings
    temperature: float = DEFAULT_TEMPERATURE  # its measured best Variety, where clients start
    provenance: str | None = None  # where its weights and their training data came from
    characters: bool = False  # its done carries a character per sample; suggest takes one

    def _check(self) -> None:
        _text(self.name, "name", MAX_NAME_LEN)
        _bool(self.characters, "characters")
        if self.provenance is not None:
            _text(self.provenance, "provenance")
        _set(
            self,
            "temperature",
            _num(self.temperature, "temperature", MIN_TEMPERATURE, MAX_TEMPERATURE),
        )
        if self.library is not None:
            lib = _map(self.library, "library")
            _set(
                self,
                "library",
                MappingProxyType(
                    {
                        "size": _int(lib.get("size"), "library.size", 0, INT_MAX),
                        "licence": _text(lib.get("licence"), "library.licence"),
                        "source": _text(lib.get("source"), "library.source"),
                    }
                ),
            )
        if not isinstance(self.description, str):
            raise _bad(f"description must be a string, not {_kind(self.description)}")
        _set(self, "conditions", _condition_map(self.conditions, "conditions", lists=True))
        modes = tuple(_list(self.modes, "modes", "mode names"))
        if not modes:
            raise _bad("modes must name at least one mode")
        for i, m in enumerate(modes):
            if m not in MODES or modes.index(m) != i:
                raise _bad(
                    f"modes[{i}] is {_show(m)}; expected each of {', '.join(MODES)} at most once"
                )
        _set(self, "modes", modes)


@dataclass(frozen=True, kw_only=True)
class Welcome(_Message):
    """server -> client, the reply to a good hello: who the server is and what it can draw."""

    TYPE: ClassVar[str] = "welcome"
    _WIRE_REQUIRED: ClassVar[tuple[str, ...]] = ("protocol",)
    protocol: int = PROTOCOL_VERSION
    server: str  # "ai-sketcher/VERSION"
    device: str  # where models run, e.g. "cuda:0 (NVIDIA H100)" or "cpu"
    models: tuple[ModelInfo, ...]  # ModelInfo or its wire maps; the first is the default
    trace: bool = False  # the server answers `trace` (an older one says unknown message type)

    def _check(self) -> None:
        _protocol(self.protocol)
        _bool(self.trace, "trace")
        _text(self.server, "server")
        _text(self.device, "device")
        models: list[ModelInfo] = []
        for i, m in enumerate(_list(self.models, "models", "models")):
            if not isinstance(m, ModelInfo):
                _map(m, f"models[{i}]")
                try:
                    m = ModelInfo.from_wire(m)
                except ProtocolError as e:
                    raise _bad(f"models[{i}].{e.message}") from None
            first = next(j for j, other in enumerate(models + [m]) if other.name == m.name)
            if first != i:
                raise _bad(f"models[{i}].name {m.name!r} repeats models[{first}].name")
            models.append(m)
        _set(self, "models", tuple(models))


@dataclass(frozen=True, kw_only=True)
class Raster(_Message):
    """A paint layer's pixels: a PNG and the document box [x0, y0, x1, y1] its pixels cover."""

    png: bytes
    box: tuple[float, float, float, float]

    def _check(self) -> None:
        _set(self, "png", _png(self.png, "raster.png"))
        _set(self, "box", _box(self.box, "raster.box"))


def _raster(v: Any) -> Raster:
    if isinstance(v, Raster):
        return v
    d = _map(v, "raster")
    for name in ("png", "box"):
        if d.get(name) is None:
            raise _bad(f"raster.{name} is required")
    return Raster(png=d["png"], box=d["box"])


@dataclass(frozen=True, kw_only=True)
class Suggest(_Message):
    """client -> server: draw `n` sketches that complete, generate or refine `strokes`."""

    TYPE: ClassVar[str] = "suggest"
    id: RequestId
    model: str | None = None  # None: the server's first model
    mode: str
    strokes: Sketch = ()
    conditions: Mapping[str, str] = field(default_factory=dict)
    n: int = 1
    temperature: float = DEFAULT_TEMPERATURE
    seed: int | None = None
    max_points: int = DEFAULT_MAX_POINTS  # per sample, all its strokes together
    bounds: tuple[float, float, float, float] | None = None  # used only when strokes is empty
    use_library: bool = True  # False: the network alone, without the model's real drawings
    strength: float = DEFAULT_STRENGTH  # refine: 0 the model's redraw .. 1 the projection
    raster: Raster | None = None  # a paint layer's pixels; used only when strokes is empty
    character: str | None = None  # draw this person (a character from an earlier done)

    def _check(self) -> None:
        if self.model is not None:
            _text(self.model, "model", MAX_NAME_LEN)
        if self.character is not None:
            _character(self.character, "character")
        if self.raster is not None:
            _set(self, "raster", _raster(self.raster))
        _bool(self.use_library, "use_library")
        _set(self, "strength", _num(self.strength, "strength", 0.0, 1.0))
        if not isinstance(self.mode, str):
            raise _bad(f"mode must be a string, not {_kind(self.mode)}")
        if self.mode not in MODES:
            raise _bad(f"mode {_show(self.mode)} is not one of {', '.join(MODES)}")
        _set(self, "strokes", _sketch(self.strokes, "strokes"))
        if self.mode != "generate" and not self.strokes and self.raster is None:
            raise _bad(
                f"mode '{self.mode}' needs at least one stroke in strokes (or a raster); "
                "use mode 'generate' to draw from nothing"
            )
        _set(self, "conditions", _condition_map(self.conditions, "conditions", lists=False))
        _int(self.n, "n", 1, MAX_N)
        _set(
            self,
            "temperature",
            _num(self.temperature, "temperature", MIN_TEMPERATURE, MAX_TEMPERATURE),
        )
        if self.seed is not None:
            _int(self.seed, "seed", INT_MIN, INT_MAX)
        _int(self.max_points, "max_points", 1, MAX_MAX_POINTS)
        if self.bounds is not None:
            _set(self, "bounds", _box(self.bounds, "bounds"))


@dataclass(frozen=True, kw_only=True)
class Cancel(_Message):
    """client -> server: stop request `id` early; the server still ends it with `done`."""

    TYPE: ClassVar[str] = "cancel"
    id: RequestId


@dataclass(frozen=True, kw_only=True)
class StrokeChunk(_Message):
    """server -> client: stroke `index` of sample `sample` of request `id`, sent once finished."""

    TYPE: ClassVar[str] = "stroke"
    id: RequestId
    sample: int
    index: int
    points: Stroke

    def _check(self) -> None:
        _int(self.sample, "sample", 0, MAX_N - 1)
        _int(self.index, "index", 0, MAX_STROKES - 1)
        points = _list(self.points, "points", "[x, y] points")
        if len(points) > MAX_POINTS:
            raise ProtocolError(
                "too_large", f"points has {len(points)} points; the limit is {MAX_POINTS}"
            )
        _set(self, "points", _stroke(points, "points"))


@dataclass(frozen=True, kw_only=True)
class Done(_Message):
    """server -> client, last message of request `id`: every finished sample, in full."""

    TYPE: ClassVar[str] = "done"
    id: RequestId
    samples: tuple[Sketch, ...]
    elapsed_ms: int
    cancelled: bool = False
    # Where each sample came from: a library drawing's id, "projection:ID+ID", or "model".
    sources: tuple[str, ...] | None = None
    # Per sample, why it has no strokes ("" for one that has strokes); absent when all have.
    notes: tuple[str, ...] | None = None
    # Per sample, who it draws, to send back as suggest.character ("" for none); absent when
    # no sample has one.
    characters: tuple[str, ...] | None = None

    def _check(self) -> None:
        if self.characters is not None:
            _set(
                self,
                "characters",
                tuple(
                    x if x == "" else _character(x, f"characters[{i}]")
                    for i, x in enumerate(_list(self.characters, "characters", "strings"))
                ),
            )
        if self.notes is not None:
            notes = _list(self.notes, "notes", "strings")
            for i, x in enumerate(notes):
                if not isinstance(x, str):
                    raise _bad(f"notes[{i}] must be a string, not {_kind(x)}")
            _set(self, "notes", tuple(notes))
        if self.sources is not None:
            _set(
                self,
                "sources",
                tuple(
                    _text(x, f"sources[{i}]", MAX_NAME_LEN)
                    for i, x in enumerate(_list(self.sources, "sources", "strings"))
                ),
            )
        samples = _list(self.samples, "samples", "sketches")
        if len(samples) > MAX_N:
            raise _bad(f"samples has {len(samples)} sketches; the limit is {MAX_N}")
        total = sum(_count_points(s) for s in samples if isinstance(s, (list, tuple)))
        if total > MAX_POINTS:
            raise ProtocolError(
                "too_large", f"samples have {total} points in total; the limit is {MAX_POINTS}"
            )
        _set(self, "samples", tuple(_sketch(s, f"samples[{i}]") for i, s in enumerate(samples)))
        _int(self.elapsed_ms, "elapsed_ms", 0, INT_MAX)
        if not isinstance(self.cancelled, bool):
            raise _bad(f"cancelled must be a boolean, not {_kind(self.cancelled)}")


@dataclass(frozen=True, kw_only=True)
class Guide(_Message):
    """client -> server: the real drawings that best fit `strokes`, to show faintly under them."""

    TYPE: ClassVar[str] = "guide"
    id: RequestId
    model: str | None = None  # None: the server's first model
    strokes: Sketch = ()
    conditions: Mapping[str, str] = field(default_factory=dict)
    k: int = DEFAULT_GUIDE_K
    raster: Raster | None = None  # a paint layer's pixels; used only when strokes is empty

    def _check(self) -> None:
        if self.model is not None:
            _text(self.model, "model", MAX_NAME_LEN)
        if self.raster is not None:
            _set(self, "raster", _raster(self.raster))
        _set(self, "strokes", _sketch(self.strokes, "strokes"))
        if not self.strokes and self.raster is None:
            raise _bad("strokes must hold at least one stroke to guide (or send a raster)")
        _set(self, "conditions", _condition_map(self.conditions, "conditions", lists=False))
        _int(self.k, "k", 1, MAX_GUIDE_K)


@dataclass(frozen=True, kw_only=True)
class Trace(_Message):
    """client -> server: the line drawing of an image (a photo, a painting) as strokes, in the
    document box the image covers. Answered like a suggest: `stroke`s, then one `done`."""

    TYPE: ClassVar[str] = "trace"
    id: RequestId
    image: bytes  # PNG or JPEG
    box: tuple[float, float, float, float]  # [x0, y0, x1, y1]: where the image lies

    def _check(self) -> None:
        _set(self, "image", _photo(self.image, "image"))
        _set(self, "box", _box(self.box, "box"))


@dataclass(frozen=True, kw_only=True)
class GuideDrawing(_Message):
    """One drawing of a guide: strokes in document units, blend weight (all sum to 1), id."""

    strokes: Sketch
    weight: float
    source: str

    def _check(self) -> None:
        _set(self, "strokes", _sketch(self.strokes, "strokes"))
        _set(self, "weight", _num(self.weight, "weight", 0.0, 1.0))
        _text(self.source, "source", MAX_NAME_LEN)


@dataclass(frozen=True, kw_only=True)
class GuideResult(_Message):
    """server -> client, the answer to `guide`: the k best-fitting drawings, best first."""

    TYPE: ClassVar[str] = "guide"
    id: RequestId
    drawings: tuple[GuideDrawing, ...]
    elapsed_ms: int

    def _check(self) -> None:
        drawings = []
        for i, d in enumerate(_list(self.drawings, "drawings", "drawings")):
            if not isinstance(d, GuideDrawing):
                try:
                    d = GuideDrawing.from_wire(_map(d, f"drawings[{i}]"))
                except ProtocolError as e:
                    raise _bad(f"drawings[{i}].{e.message}") from None
            drawings.append(d)
        if len(drawings) > MAX_GUIDE_K:
            raise _bad(f"drawings has {len(drawings)} entries; the limit is {MAX_GUIDE_K}")
        _set(self, "drawings", tuple(drawings))
        _int(self.elapsed_ms, "elapsed_ms", 0, INT_MAX)


ClientMessage = Hello | Suggest | Cancel | Guide | Trace
ServerMessage = Welcome | StrokeChunk | Done | GuideResult | Error
Message = ClientMessage | ServerMessage
_CLIENT_TYPES: dict[str, Any] = {
    "hello": Hello,
    "suggest": Suggest,
    "cancel": Cancel,
    "guide": Guide,
    "trace": Trace,
}
_SERVER_TYPES: dict[str, Any] = {
    "welcome": Welcome,
    "stroke": StrokeChunk,
    "done": Done,
    "guide": GuideResult,
    "error": Error,
}


def _parse(d: Any, types: dict[str, Any]) -> Any:
    d = _frame_map(d)
    cls = types.get(d["type"])
    if cls is None:
        raise ProtocolError(
            "bad_request",
            f"unknown message type {_show(d['type'])}; expected one of {', '.join(types)}",
            readable_id(d),
        )
    return cls.from_wire(d)


def parse_client_message(d: Mapping[str, Any]) -> ClientMessage:
    """The client message a decoded frame holds; raises ProtocolError if it is not valid."""
    return cast(ClientMessage, _parse(d, _CLIENT_TYPES))


def parse_server_message(d: Mapping[str, Any]) -> ServerMessage:
    """The server message a decoded frame holds; raises ProtocolError if it is not valid."""
    return cast(ServerMessage, _parse(d, _SERVER_TYPES))
