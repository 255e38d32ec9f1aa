"""Tests for the v1 wire protocol's framing: both frame kinds and msgpack builds, hostile and
oversize frames, the files the add-ons copy, and fuzzing."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import msgpack
import msgpack.fallback
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import installer.package
from wire import protocol as p
from wire.protocol import (
    MAX_CONTAINERS,
    MAX_FRAME_BYTES,
    Cancel,
    Done,
    Error,
    Hello,
    ModelInfo,
    ProtocolError,
    StrokeChunk,
    Suggest,
    Welcome,
    decode,
    encode,
    parse_client_message,
    parse_server_message,
)

from .protocol_cases import ALL_MESSAGES, CLIENT_MESSAGES, parse_any, raises, suggest_map


def _fallback_msgpack() -> types.SimpleNamespace:
    """The pure-Python msgpack that Krita uses, shaped like the msgpack module."""
    fb = msgpack.fallback
    return types.SimpleNamespace(unpackb=fb.unpackb, packb=lambda o, **kw: fb.Packer(**kw).pack(o))


@pytest.fixture(params=["c", "fallback"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the C msgpack extension and again with the pure-Python fallback."""
    if request.param == "fallback":
        monkeypatch.setattr(p, "msgpack", _fallback_msgpack())
    return request.param


@pytest.mark.parametrize("binary", [True, False], ids=["msgpack", "json"])
@pytest.mark.parametrize("msg", ALL_MESSAGES, ids=lambda m: type(m).__name__)
def test_frame_round_trip(msg: Any, binary: bool, codec: str) -> None:
    """Every message survives encode -> decode -> parse in both frame kinds and msgpack builds."""
    frame = encode(msg, binary=binary)
    assert isinstance(frame, bytes if binary else str)
    assert parse_any(decode(frame)) == msg
    if binary:
        assert parse_any(decode(bytearray(frame))) == msg
        assert parse_any(decode(memoryview(frame))) == msg


MSGPACK_ERROR = ("bad_request", "binary frame is not valid msgpack")
TOO_MANY_CONTAINERS = (
    f"frame holds more than {MAX_CONTAINERS} lists and maps; "
    "a request may carry at most 20000 points"
)
BINARY_FRAMES = [
    (b"\xc1", *MSGPACK_ERROR),
    (b"", *MSGPACK_ERROR),
    (b"\x92\x01", *MSGPACK_ERROR),
    (msgpack.packb({"type": "cancel", "id": 1}) + b"\x00", *MSGPACK_ERROR),
    (msgpack.packb({"type": "x", "t": msgpack.ExtType(1, b"a")}), *MSGPACK_ERROR),
    (msgpack.packb({"type": "x", "t": msgpack.Timestamp(1, 0)}), *MSGPACK_ERROR),
    (b"\x81\xa4type\xa2\xff\xfe", *MSGPACK_ERROR),
    (msgpack.packb({1: "x"}), *MSGPACK_ERROR),
    (b"\x82\xa4type\xa1x\xa1a" + b"\x91" * 5000 + b"\xc0", *MSGPACK_ERROR),
    (msgpack.packb([1, 2]), "bad_request", "frame must be a map with a 'type' field, not list"),
    (msgpack.packb("hello"), "bad_request", "frame must be a map with a 'type' field, not string"),
    (
        msgpack.packb({b"type": "hello"}),
        "bad_request",
        "every key must be a string; the frame has a binary key",
    ),
    (
        msgpack.packb({"type": "hello", "protocol": 1, "client": "me", b"token": "s3cret"}),
        "bad_request",
        "every key must be a string; the frame has a binary key",
    ),
    (msgpack.packb({"type": None}), "bad_request", "type must be a string, not null"),
    (
        b"\x00" * (MAX_FRAME_BYTES + 1),
        "too_large",
        "frame is 12582913 bytes; the limit is 12582912",
    ),
    (
        msgpack.packb({"type": "x", "a": [[]] * (MAX_CONTAINERS + 1)}),
        "too_large",
        TOO_MANY_CONTAINERS,
    ),
    (
        msgpack.packb({"type": "x", "a": [{}] * (MAX_CONTAINERS + 1)}),
        "too_large",
        TOO_MANY_CONTAINERS,
    ),
]


@pytest.mark.parametrize(
    "frame,code,message",
    BINARY_FRAMES,
    ids=[f"{i}:{c[2][:30]}" for i, c in enumerate(BINARY_FRAMES)],
)
def test_decode_rejects_bad_binary_frames(
    frame: bytes, code: str, message: str, codec: str
) -> None:
    """Malformed, hostile or oversize msgpack frames fail with an exact code and message."""
    raises(code, message, decode, frame)


TEXT_FRAMES = [
    (
        '{"type":"suggest","temperature":NaN}',
        "bad_request",
        "text frame contains NaN; numbers must be finite",
    ),
    (
        '{"type":"x","a":[Infinity]}',
        "bad_request",
        "text frame contains Infinity; numbers must be finite",
    ),
    (
        '{"type":"x","a":-Infinity}',
        "bad_request",
        "text frame contains -Infinity; numbers must be finite",
    ),
    ('{"type":', "bad_request", "text frame is not valid JSON: Expecting value at character 8"),
    ("", "bad_request", "text frame is not valid JSON: Expecting value at character 0"),
    ('{"type":"x"} {}', "bad_request", "text frame is not valid JSON: Extra data at character 13"),
    ('{"type":"x","a":' + "1" * 5000 + "}", "bad_request", "text frame is not valid JSON"),
    (
        '{"type":"x","a":' + "[" * 20000 + "]" * 20000 + "}",
        "bad_request",
        "text frame is not valid JSON",
    ),
    ("[1]", "bad_request", "frame must be a map with a 'type' field, not list"),
    ('{"id":1}', "bad_request", "frame has no 'type' field"),
    ('{"type":1}', "bad_request", "type must be a string, not integer"),
    (" " * (MAX_FRAME_BYTES + 1), "too_large", "frame is 12582913 bytes; the limit is 12582912"),
    (
        "\u00e9" * (MAX_FRAME_BYTES // 2 + 1),
        "too_large",
        "frame is 12582914 bytes; the limit is 12582912",
    ),
    ('{"type":"x","a":[' + "[]," * MAX_CONTAINERS + "[]]}", "too_large", TOO_MANY_CONTAINERS),
]


@pytest.mark.parametrize(
    "frame,code,message", TEXT_FRAMES, ids=[f"{i}:{c[2][:30]}" for i, c in enumerate(TEXT_FRAMES)]
)
def test_decode_rejects_bad_text_frames(frame: str, code: str, message: str) -> None:
    """Malformed, non-finite or oversize JSON frames fail with an exact code and message."""
    raises(code, message, decode, frame)


@pytest.mark.parametrize(
    "frame",
    [
        msgpack.packb({"type": "suggest", "id": "r7", "mode": "generate"}) + b"\x00",
        msgpack.packb({"type": "suggest", "id": "r7", "x": msgpack.ExtType(5, b"ab")}),
        msgpack.packb({"type": "suggest", "id": "r7", 1: 2}),
        '{"type": "suggest", "id": "r7"} trailing',
        '{"type": "suggest", "id": "r7", "k": NaN}',
    ],
    ids=["trailing bytes", "ext value", "integer key", "trailing text", "NaN"],
)
def test_a_frame_refused_as_a_whole_keeps_its_readable_id(frame: bytes | str) -> None:
    """When the frame is bad but its map could be read, the error names the request."""
    with pytest.raises(ProtocolError) as info:
        decode(frame)
    assert info.value.code == "bad_request" and info.value.id == "r7"


def test_json_inf_from_overflowing_literal_is_caught_by_validation() -> None:
    """1e999 parses to inf in JSON, and message validation still refuses it as not finite."""
    frame = json.dumps(suggest_map(strokes=[[[0, 0], [1, 1]]])).replace("[1, 1]", "[1e999, 1]")
    raises(
        "bad_request",
        "strokes[0][1] has a value that is not finite",
        parse_client_message,
        decode(frame),
    )


def test_encode_refuses_frames_the_peer_would_reject() -> None:
    """encode raises too_large instead of producing a frame over MAX_FRAME_BYTES."""
    big = Error(code="internal", message="x" * MAX_FRAME_BYTES)
    for binary in (True, False):
        with pytest.raises(ProtocolError) as info:
            encode(big, binary=binary)
        assert info.value.code == "too_large"
        assert re.fullmatch(r"error frame is \d+ bytes; the limit is 12582912", info.value.message)


def test_the_wire_imports_only_the_stdlib_its_vendored_packages_and_itself(
    tmp_path: Path,
) -> None:
    """The wire's modules import nothing but the stdlib, websockets and msgpack (through
    `.vendor`, an add-on's own copies) and each other, relatively, so an add-on that holds the
    folder works without the server; install.py copies all of it but the checkout's vendor.py."""
    folder = Path(p.__file__).parent
    modules = {f.stem for f in folder.glob("*.py")}
    for f in sorted(folder.glob("*.py")):
        nodes = list(ast.walk(ast.parse(f.read_text())))
        imported = {
            a.name.split(".")[0] for n in nodes if isinstance(n, ast.Import) for a in n.names
        }
        imported |= {
            n.module.split(".")[0]
            for n in nodes
            if isinstance(n, ast.ImportFrom) and n.module and n.level == 0
        }
        relative = {
            (n.module or a.name).split(".")[0]
            for n in nodes
            if isinstance(n, ast.ImportFrom) and n.level
            for a in n.names
        }
        outside = (
            {"msgpack", "websockets"} if f.name == installer.package.CHECKOUT_VENDOR else set()
        )
        assert imported - set(sys.stdlib_module_names) <= outside, f.name
        assert all(n.level <= 1 for n in nodes if isinstance(n, ast.ImportFrom)), f.name
        assert relative <= modules, f.name
    shutil.copytree(folder, tmp_path / "wire", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import sys\nfor m in ('numpy', 'torch', 'model', 'sketch_server', 'addons', 'lab'):\n"
        "    sys.modules[m] = None\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from wire import client, guide, protocol, suggestion\n"
        "protocol.decode(protocol.encode(protocol.Cancel(id=1)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr


# --- fuzzing -------------------------------------------------------------------------------------

FIELD_NAMES = sorted(
    {
        f.name
        for cls in (Hello, Welcome, ModelInfo, Suggest, Cancel, StrokeChunk, Done, Error)
        for f in dataclasses.fields(cls)
    }
)
TYPE_NAMES = ["hello", "suggest", "cancel", "welcome", "stroke", "done", "error"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(1 << 63), (1 << 64) - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.binary(max_size=10)
    | st.sampled_from(TYPE_NAMES + list(p.MODES))
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.dictionaries(st.text(max_size=8) | st.sampled_from(FIELD_NAMES), inner, max_size=5)
    ),
    max_leaves=12,
)
messages = st.builds(
    lambda t, rest: {**rest, "type": t},
    st.sampled_from(TYPE_NAMES) | st.text(max_size=8) | scalars,
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), values, max_size=8),
)
FUZZ = settings(max_examples=300, deadline=200, suppress_health_check=[HealthCheck.too_slow])


def _only_protocol_errors(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ProtocolError as e:
        assert e.code in p.ERROR_CODES and e.message
        return None


@FUZZ
@given(messages)
def test_fuzz_maps_only_raise_protocol_error(d: dict[str, Any]) -> None:
    """Arbitrary maps, as dicts and through both frame kinds, only ever raise ProtocolError."""
    for parse in (parse_client_message, parse_server_message):
        msg = _only_protocol_errors(parse, d)
        if msg is not None:  # anything accepted must survive its own round trip
            assert parse(decode(encode(msg))) == msg
        for frame in (msgpack.packb(d, use_bin_type=True), json.dumps(d, default=repr)):
            decoded = _only_protocol_errors(decode, frame)
            if decoded is not None:
                _only_protocol_errors(parse, decoded)


@FUZZ
@given(
    st.sampled_from(
        [
            "strokes",
            "conditions",
            "n",
            "temperature",
            "seed",
            "max_points",
            "bounds",
            "mode",
            "model",
            "id",
        ]
    ),
    values,
)
def test_fuzz_one_bad_field_in_a_valid_suggest(key: str, value: Any) -> None:
    """A valid suggest with one field replaced by anything is accepted or fails cleanly."""
    wire = CLIENT_MESSAGES[3].to_wire()
    wire[key] = value
    msg = _only_protocol_errors(parse_client_message, wire)
    if msg is not None:
        assert parse_client_message(decode(encode(msg, binary=False))) == msg


@FUZZ
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_fuzz_raw_frames_only_raise_protocol_error(frame: bytes | str) -> None:
    """Arbitrary bytes and text fed to decode only ever raise ProtocolError."""
    d = _only_protocol_errors(decode, frame)
    if d is not None:
        _only_protocol_errors(parse_client_message, d)


def test_lone_surrogate_in_a_json_string_is_refused() -> None:
    """A JSON \\ud800 escape cannot be sent back, so it is refused where it is read."""
    frame = '{"type": "hello", "protocol": 1, "client": "x\\ud800"}'
    with pytest.raises(p.ProtocolError) as info:
        p.parse_client_message(p.decode(frame))
    assert info.value.code == "bad_request"
    assert info.value.message == "client is not valid Unicode text (it holds a lone surrogate)"
