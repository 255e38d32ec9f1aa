"""The protocol's foundation: the wire's numbers, ProtocolError and the `error` message it becomes,
the checks of single field values, and the base class every message is built on.

Part of the wire protocol (import it through `protocol`, which re-exports the public names).
Pure stdlib; the add-ons copy it beside protocol.py.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from typing import Self  # typing.Self is 3.11+; a host embedding an older Python lacks it

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


def _png(v: Any, path: str) -> bytes:
    """PNG bytes (msgpack bin, or base64 text in JSON), checked by size and IHDR header only."""
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
        raise _bad(f"{path} must be PNG bytes (binary, or base64 text in JSON), not {_kind(v)}")
    if len(v) > MAX_RASTER_BYTES:
        raise ProtocolError(
            "too_large",
            f"{path} is {len(v)} bytes; the limit is {MAX_RASTER_BYTES}; "
            "select a smaller area and try again",
        )
    if len(v) < 24 or v[:8] != PNG_MAGIC or v[12:16] != b"IHDR":
        raise _bad(f"{path} is not a PNG image (it must start with the PNG signature and IHDR)")
    width, height = struct.unpack(">II", v[16:24])
    if not (width and height):
        raise _bad(f"{path} is {width} x {height} pixels; it must have at least one pixel")
    if width > MAX_RASTER_SIDE or height > MAX_RASTER_SIDE:
        raise ProtocolError(
            "too_large",
            f"{path} is {width} x {height} pixels; the limit is {MAX_RASTER_SIDE} x "
            f"{MAX_RASTER_SIDE}; select a smaller area and try again",
        )
    return v


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
