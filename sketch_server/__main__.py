"""`python -m sketch_server` / `sketch-server`: serve stroke suggestions on ws://127.0.0.1:8737.

Loads the models first, then listens and prints one line, `ready ws://HOST:PORT`, to stdout,
and `open http://HOST:PORT/ in a browser` (the drawing page on the same port) to stderr, where
everything else is logged too. SIGINT and SIGTERM close the connections and exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import sys
import threading
from pathlib import Path

from model import cli

from .config import DEFAULT_HOST, DEFAULT_PORT, LOG_LEVELS, ConfigError, ServerConfig

PROG = "sketch-server"
EXIT_GRACE = 10.0  # seconds the interpreter may take to wind down once everything is closed


def parse_args(argv: list[str] | None = None) -> ServerConfig:
    """The command line as a ServerConfig; a malformed option exits 2 with one line."""
    ap = cli.parser(
        PROG,
        "AI-Sketcher's local server for the add-ons and the drawing page: "
        "loads the models, then serves.",
        epilog="example:\n"
        "  python -m sketch_server --port 0 --model model/weights/faces\n\nThe "
        "`ready ws://HOST:PORT` on stdout says it is serving; the drawing page is at\n"
        "http://HOST:PORT/ and the messages are specified in docs/protocol.md.\n"
        "SIGINT or SIGTERM exits with status 0.",
    )
    net = ap.add_argument_group("network")
    net.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="interface to listen on; the default lets in only this machine",
    )
    net.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="TCP port; 0 picks a free one (the ready line says which)",
    )
    net.add_argument(
        "--token",
        help="secret every client must send in its hello; visible to "
        "other users in `ps`, so prefer AI_SKETCHER_TOKEN or --token-file "
        "(default: none needed)",
    )
    net.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="read the token from FILE (first line), which others may not read "
        "(chmod 600); default: $AI_SKETCHER_TOKEN if set",
    )
    net.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="browser Origin allowed to connect, e.g. http://localhost:3000 "
        "(repeatable; default: only this server's own drawing page; other pages are refused)",
    )
    models = ap.add_argument_group("models")
    models.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="DIR",
        type=Path,
        help="checkpoint folder to serve, named by its folder (repeatable; the "
        "first is the default model; default: the shipped 'objects' and "
        "'faces')",
    )
    models.add_argument(
        "--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N"
    )
    ap.add_argument(
        "--log-level",
        default="info",
        choices=LOG_LEVELS,
        metavar="LEVEL",
        help=f"what goes to stderr: {', '.join(LOG_LEVELS)}",
    )
    args = ap.parse_args(argv)
    return ServerConfig(
        host=args.host,
        port=args.port,
        models=tuple(args.model),
        device=args.device,
        token=_token(args.token, args.token_file),
        allowed_origins=tuple(args.allow_origin),
        log_level=args.log_level,
    )


TOKEN_ENV = "AI_SKETCHER_TOKEN"


TOKEN_FILE_LIMIT = 4096  # bytes read from --token-file: a token is one short line


def _token(given: str | None, path: Path | None) -> str | None:
    """The token from --token, --token-file or $AI_SKETCHER_TOKEN (at most one of the first two).
    The file's mode is checked on the opened file before a byte is read, and at most
    TOKEN_FILE_LIMIT bytes are; a set but empty variable is refused rather than meaning no
    token."""
    if given is not None and path is not None:
        raise ConfigError("give the token with --token or --token-file, not both")
    if path is None:
        if given is not None:
            return given
        env = os.environ.get(TOKEN_ENV)
        if env is not None and not env.strip():
            raise ConfigError(
                f"{TOKEN_ENV} is set but empty; set it to the token, or unset it to run without one"
            )
        return env.strip() if env is not None else None
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(f"--token-file {path} is not a regular file; name one")
            if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(
                    f"--token-file {path} can be read by other users; make it yours "
                    f"alone with `chmod 600 {path}`"
                )
            raw = handle.read(TOKEN_FILE_LIMIT + 1)
    except OSError as e:
        raise ConfigError(f"--token-file {path}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"--token-file {path} is not UTF-8 text") from None
    lines = text.splitlines()
    if len(raw) > TOKEN_FILE_LIMIT and len(lines) < 2:
        raise ConfigError(
            f"--token-file {path}: its first line is longer than {TOKEN_FILE_LIMIT} bytes; "
            "put the token on its own short line"
        )
    token = lines[0].strip() if lines else ""
    if not token:
        raise ConfigError(f"--token-file {path} is empty; put the token on its first line")
    return token


async def serve(config: ServerConfig) -> None:
    """Load, listen, announce `ready`, and run until SIGINT or SIGTERM (which may come early)."""
    from .server import start_server  # imports torch: after the arguments are known to be good

    log = logging.getLogger("sketch_server")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # Windows' event loops have no signal handlers
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    starting = asyncio.create_task(start_server(config))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        log.info("stopped before the models were loaded")
        starting.cancel()
        return
    stopping.cancel()
    server = starting.result()
    try:
        server.traces.warm_up()  # the first paint layer's raster need not wait for the tracers
        print(f"ready {server.url}", flush=True)
        print(f"open {server.page_url} in a browser", file=sys.stderr, flush=True)
        await stop.wait()
        log.info("stopping")
    finally:
        await server.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Console entry point; exits 2 with one line on stderr when it cannot start."""
    signal.signal(signal.SIGTERM, _interrupt)  # until serve() takes over: stop like Ctrl-C
    try:
        status = cli.run(_run, PROG, argv)
    except KeyboardInterrupt:  # a second signal while an error was being reported
        status = 0
    _exit_within(EXIT_GRACE, status)
    raise SystemExit(status)


def _exit_within(seconds: float, status: int) -> None:
    """Make sure the process ends `seconds` from now: everything is closed by then, and a
    library thread that will not join (a worker pool's manager whose process was killed while
    it started) must not keep a stopped server alive."""

    def force() -> None:
        sys.stderr.write(f"{PROG}: still winding down after {seconds:g} s; exiting now\n")
        sys.stderr.flush()
        os._exit(status)

    timer = threading.Timer(seconds, force)
    timer.daemon = True
    timer.start()


def _run(argv: list[str] | None) -> None:
    """Parse, set up logging and serve until a signal (one before serve() took over, or a
    second one while closing, ends it quietly too)."""
    try:
        config = parse_args(argv)
        logging.basicConfig(
            stream=sys.stderr,
            level=config.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        if config.log_level != "debug":  # websockets logs every connection open and close
            logging.getLogger("sketch_server.websockets").setLevel(logging.WARNING)
        asyncio.run(serve(config))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
