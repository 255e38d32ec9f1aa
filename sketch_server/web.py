"""The drawing page: the static files in sketch_server/static, served on the WebSocket's own port.

websockets' `process_request` hook sees every HTTP request before the handshake. A request that
asks to upgrade goes on to the WebSocket (on any path, as before); any other GET gets one of the
shipped files, or 404. Only the files listed from the static folder at start-up are served, so
no path can reach outside it. The page's own origin on this port is allowed to open the
WebSocket; every other browser Origin still gets 403 unless --allow-origin names it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from wire.protocol import (
    DEFAULT_ALTERNATIVES,
    DEFAULT_GUIDE_K,
    DEFAULT_STRENGTH,
    DEFAULT_TEMPERATURE,
    MAX_N,
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    PROTOCOL_VERSION,
    VERSION,
)

log = logging.getLogger("sketch_server")

STATIC = Path(__file__).with_name("static")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
WILDCARDS = ("", "0.0.0.0", "::")  # listen-everywhere hosts: not names a browser page has


@dataclass(frozen=True)
class Asset:
    """One servable file, read once at start-up."""

    body: bytes
    content_type: str
    etag: str


def _asset(body: bytes, content_type: str) -> Asset:
    return Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def wire_js() -> bytes:
    """/wire.js: the wire's numbers the page needs (its version, the protocol, each control's
    range and default, the guide's k), from the protocol itself, so the page holds no copies."""
    settings = {
        "version": VERSION,
        "protocol": PROTOCOL_VERSION,
        "temperature": {"min": MIN_TEMPERATURE, "max": MAX_TEMPERATURE,
                        "default": DEFAULT_TEMPERATURE},
        "n": {"min": 1, "max": MAX_N, "default": DEFAULT_ALTERNATIVES},
        "strength": {"min": 0.0, "max": 1.0, "default": DEFAULT_STRENGTH},
        "guideK": DEFAULT_GUIDE_K,
    }  # fmt: skip
    return (
        "// Made by the server from wire/protocol.py (sketch_server/web.py).\n"
        f"export const WIRE = Object.freeze({json.dumps(settings)});\n"
    ).encode()


def load_assets(folder: Path = STATIC) -> dict[str, Asset]:
    """Every file the page is made of, by URL path ("/" is index.html), and /wire.js; nothing
    else is served."""
    assets: dict[str, Asset] = {"/wire.js": _asset(wire_js(), CONTENT_TYPES[".js"])}
    for path in sorted(folder.iterdir()):
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None or not path.is_file() or path.name.startswith("."):
            continue
        assets["/" + path.name] = _asset(path.read_bytes(), content_type)
    if "/index.html" not in assets:
        raise FileNotFoundError(
            f"{folder} has no index.html; the package was installed without "
            "its static files (reinstall it with pip install)"
        )
    assets["/"] = assets["/index.html"]
    return assets


def page_origins(host: str, port: int) -> tuple[str, ...]:
    """The Origins the page has when loaded from this server: loopback names, and `host`."""
    names = list(LOOPBACK)
    if host not in WILDCARDS:
        names.append(f"[{host}]" if ":" in host else host)
    return tuple(f"http://{name}:{port}" for name in dict.fromkeys(names))


def content_security_policy(origins: Iterable[str]) -> str:
    """What the page may load and connect to: its own files and this server's WebSocket only.

    IPv6 literals are left out (browsers reject them in CSP); 'self' covers the page's own host.
    """
    sockets = " ".join(
        "ws://" + origin.removeprefix("http://") for origin in origins if "[" not in origin
    )
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src 'self' {sockets}; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def is_upgrade(request: Request) -> bool:
    """Whether the request asks for a WebSocket (`Upgrade: websocket`), not a page."""
    return any(
        token.strip().lower() == "websocket"
        for value in request.headers.get_all("Upgrade")
        for token in value.split(",")
    )


def check_origin(
    connection: ServerConnection, request: Request, allowed: tuple[str, ...]
) -> Response | None:
    """Refuse browsers on other sites: a request with a foreign Origin gets HTTP 403."""
    origins = request.headers.get_all("Origin")
    refused = [o for o in origins if o not in allowed]
    if not refused and len(origins) <= 1:
        return None
    origin = refused[0] if refused else ", ".join(origins)
    log.warning(
        "refused a %s from Origin %s (allow it with --allow-origin %s)",
        "WebSocket handshake" if is_upgrade(request) else "page request",
        origin,
        origin,
    )
    return connection.respond(
        HTTPStatus.FORBIDDEN,
        f"Origin {origin} may not use this server; start it with "
        f"--allow-origin {origin} to allow that page.\n",
    )


class Site:
    """Answers the page's plain HTTP GETs from the loaded assets."""

    def __init__(self, assets: Mapping[str, Asset], csp: str) -> None:
        self.assets = dict(assets)
        self.csp = csp

    def respond(self, connection: ServerConnection, request: Request) -> Response:
        """The file at the request's path (query ignored), 304 if unchanged, 404 or 405."""
        if request.method not in ("GET", "HEAD"):
            response = connection.respond(
                HTTPStatus.METHOD_NOT_ALLOWED, "The drawing page is read-only: use GET.\n"
            )
            response.headers["Allow"] = "GET, HEAD"
            return response
        path = request.path.partition("?")[0]  # exact match against the listed files only
        asset = self.assets.get(path)
        if asset is None:
            response = connection.respond(
                HTTPStatus.NOT_FOUND,
                "This address is not part of the drawing page; open / in a browser.\n",
            )
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response
        headers = Headers(
            [
                ("Date", formatdate(usegmt=True)),
                ("Connection", "close"),
                ("Cache-Control", "no-cache"),  # revalidate by ETag: a new version shows at once
                ("ETag", asset.etag),
                ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"),
            ]
        )
        if asset.content_type.startswith("text/html"):
            headers["Content-Security-Policy"] = self.csp
        if asset.etag in ",".join(request.headers.get_all("If-None-Match")):
            return Response(HTTPStatus.NOT_MODIFIED.value, HTTPStatus.NOT_MODIFIED.phrase, headers)
        headers["Content-Type"] = asset.content_type
        headers["Content-Length"] = str(len(asset.body))
        body = asset.body if request.method == "GET" else b""
        return Response(HTTPStatus.OK.value, HTTPStatus.OK.phrase, headers, body)
