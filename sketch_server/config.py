"""Server settings: one frozen dataclass that the command line, the tests and the bench fill in.

Kept free of torch and websockets so that it imports instantly and can be checked on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from wire.protocol import DEFAULT_PORT  # the add-ons try it first; `--port 0` picks a free one

DEFAULT_HOST = "127.0.0.1"
LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(ValueError):
    """A setting or a model folder the server cannot start with; the message says what to fix."""


@dataclass(frozen=True)
class ServerConfig:
    """Everything `python -m sketch_server` can be told, with the defaults it uses."""

    host: str = DEFAULT_HOST  # interface to listen on; loopback, so only this machine can connect
    port: int = DEFAULT_PORT  # TCP port; 0 picks a free one (the `ready` line says which)
    models: tuple[Path, ...] = ()  # checkpoint folders, named by folder; () = the shipped models
    device: str = "auto"  # "auto" (CUDA if available, else CPU), "cpu", "cuda", "cuda:1", ...
    token: str | None = None  # when set, every hello must carry it in `token`
    allowed_origins: tuple[str, ...] = ()  # browser Origins let in; no Origin header always is
    log_level: str = "info"  # one of LOG_LEVELS; logging goes to stderr
    max_jobs_per_connection: int = 4  # open requests per connection before `busy`
    # greeted connections; a newcomer's good hello closes the one idle longest, if any
    max_connections: int = 64
    max_pending: int = 256  # connections still to say hello; more are refused with HTTP 503
    max_connections_per_address: int = 32  # from one other machine (loopback has no quota)
    # open requests across all connections before `busy`: every connection's four fit, so one
    # client holding many connections queues behind the others instead of shutting them out
    max_jobs: int = 256
    max_rows: int = 64  # sketches (n per request) drawn together in one batch per model
    torch_threads: int = 1  # intra-op threads of the inference worker; 0 keeps torch's default
    reference_decoder: bool = False  # decode through the nn.Modules, not the fast path (bench)
    ping_interval: float | None = 20.0  # seconds between keepalive pings; None: no pings
    ping_timeout: float | None = 20.0  # seconds to wait for a pong before dropping the client
    close_timeout: float = 5.0  # seconds to wait for the closing handshake at shutdown
    hello_timeout: float = 10.0  # seconds a new connection has to get a welcome, or be closed
    # websockets' own frame limit, set above the protocol's 12 MiB so that frames up to this size
    # get an `error` too_large reply; larger ones close the connection with code 1009.
    max_frame: int = 16 << 20

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(Path(m) for m in self.models))
        object.__setattr__(self, "allowed_origins", tuple(self.allowed_origins))
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, not {self.port}")
        if self.token is not None and not 1 <= len(self.token) <= 1024:
            raise ConfigError("token must be 1 to 1024 characters long")
        if self.log_level.lower() not in LOG_LEVELS:
            raise ConfigError(
                f"log level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}"
            )
        for name in (
            "max_jobs_per_connection",
            "max_jobs",
            "max_rows",
            "max_frame",
            "max_connections",
            "max_pending",
            "max_connections_per_address",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.torch_threads < 0:
            raise ConfigError(
                f"torch_threads must be 0 (torch's default) or more, not {self.torch_threads}"
            )
        for name in ("ping_interval", "ping_timeout", "close_timeout", "hello_timeout"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number of seconds, not {value}")
        for origin in self.allowed_origins:
            if not origin or origin != origin.strip() or origin.endswith("/"):
                raise ConfigError(
                    f"allowed origin {origin!r} must look like "
                    "'http://localhost:3000': scheme, host and port, no path"
                )
