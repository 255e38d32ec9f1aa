"""AI-Sketcher wire protocol v1: message types, strict validation and frame encoding.

This is the module to import; docs/protocol.md is the specification it implements. It is three
files, all pure stdlib + msgpack because the Krita and Blender add-ons copy them verbatim beside
each other: protocol_core.py (the wire's numbers, ProtocolError, field checks, the message base
and `error`), this file (every other message and parsing) and protocol_frames.py (framing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

from .protocol_core import (
    DEFAULT_ALTERNATIVES,
    DEFAULT_GUIDE_K,
    DEFAULT_MAX_POINTS,
    DEFAULT_PORT,
    DEFAULT_STRENGTH,
    DEFAULT_TEMPERATURE,
    ERROR_CODES,
    INT_MAX,
    INT_MIN,
    MAX_CONDITIONS,
    MAX_CONTAINERS,
    MAX_FRAME_BYTES,
    MAX_GUIDE_K,
    MAX_ID_LEN,
    MAX_MAX_POINTS,
    MAX_N,
    MAX_NAME_LEN,
    MAX_POINTS,
    MAX_RASTER_BYTES,
    MAX_RASTER_SIDE,
    MAX_STROKES,
    MAX_TEMPERATURE,
    MAX_TOKEN_LEN,
    MIN_TEMPERATURE,
    MODES,
    PNG_MAGIC,
    PROTOCOL_VERSION,
    VERSION,
    Error,
    Point,
    ProtocolError,
    RequestId,
    Sketch,
    Stroke,
    _bad,
    _bool,
    _box,
    _condition_map,
    _count_points,
    _int,
    _kind,
    _list,
    _map,
    _Message,
    _num,
    _png,
    _protocol,
    _set,
    _show,
    _sketch,
    _stroke,
    _text,
    png_size,
    readable_id,
)
from .protocol_frames import _frame_map, decode, encode

__all__ = [  # the wire, in one namespace: what the add-ons, the server and the tests use
    "VERSION",
    "PROTOCOL_VERSION",
    "DEFAULT_ALTERNATIVES",
    "DEFAULT_PORT",
    "MAX_FRAME_BYTES",
    "MAX_RASTER_BYTES",
    "MAX_RASTER_SIDE",
    "PNG_MAGIC",
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
    "ClientMessage",
    "ServerMessage",
    "Message",
    "parse_client_message",
    "parse_server_message",
    "decode",
    "encode",
]


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

    def _check(self) -> None:
        _text(self.name, "name", MAX_NAME_LEN)
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

    def _check(self) -> None:
        _protocol(self.protocol)
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

    def _check(self) -> None:
        if self.model is not None:
            _text(self.model, "model", MAX_NAME_LEN)
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

    def _check(self) -> None:
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


ClientMessage = Hello | Suggest | Cancel | Guide
ServerMessage = Welcome | StrokeChunk | Done | GuideResult | Error
Message = ClientMessage | ServerMessage
_CLIENT_TYPES: dict[str, Any] = {
    "hello": Hello,
    "suggest": Suggest,
    "cancel": Cancel,
    "guide": Guide,
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
    return _parse(d, _CLIENT_TYPES)


def parse_server_message(d: Mapping[str, Any]) -> ServerMessage:
    """The server message a decoded frame holds; raises ProtocolError if it is not valid."""
    return _parse(d, _SERVER_TYPES)
