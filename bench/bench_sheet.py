"""How long a character sheet takes through a real server: 21 faces of one character.

Starts `python -m sketch_server` (its default models, on the CPU) on 127.0.0.1 and, over one
WebSocket as the add-ons do, asks for a character with one `generate` (the library's person by
default, as the hosts ask; --network: the network's), then draws the sheet: one
`suggest` per emotion x view (wire.character.sheet_cells) with that `character`, at most
`--open` requests open at once (3 as the add-ons keep, wire.suggestion.MAX_IN_FLIGHT; 4 is the
server's limit). Wall time from the first request to the last `done`, p50 and p95 over --runs
sheets (a new character each), after one to warm up. The target is TARGET_S on 2 cores.

    python bench/bench_sheet.py [--runs 10] [--open 3] [--network]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_server import commit, machine  # noqa: E402
from bench.served import served  # noqa: E402
from wire.character import sheet_cells  # noqa: E402
from wire.protocol import decode, encode  # noqa: E402
from wire.suggestion import MAX_IN_FLIGHT  # noqa: E402

TARGET_S = 1.0
MODEL = "faces"


def _done(ws: Any, open_ids: set[int]) -> dict[str, Any]:
    """The next `done` of an open request (strokes streamed before it are skipped)."""
    while True:
        reply = decode(ws.recv())
        if reply["type"] == "error":
            raise RuntimeError(f"the server refused a request: {reply['message']}")
        if reply["type"] == "done" and reply["id"] in open_ids:
            open_ids.discard(reply["id"])
            return reply


def sheet(ws: Any, cells: list[Any], character: str, most_open: int) -> tuple[float, int]:
    """Draw one sheet; its wall time in seconds and the points of its faces."""
    started, sent, points, open_ids = time.perf_counter(), 0, 0, set()
    while sent < len(cells) or open_ids:
        while sent < len(cells) and len(open_ids) < most_open:
            cell = cells[sent]
            ws.send(
                encode(
                    {
                        "type": "suggest",
                        "id": sent,
                        "model": MODEL,
                        "mode": "generate",
                        "character": character,
                        "conditions": dict(cell.conditions),
                        "bounds": list(cell.bounds),
                        "seed": sent,
                    }
                )
            )
            open_ids.add(sent)
            sent += 1
        done = _done(ws, open_ids)
        points += sum(len(s) for s in done["samples"][0])
    return time.perf_counter() - started, points


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="sheets timed, after one to warm up")
    ap.add_argument("--open", type=int, default=MAX_IN_FLIGHT, help="requests open at once")
    ap.add_argument(
        "--network",
        action="store_true",
        help="the first face by the network alone (use_library false), so the sheet is the "
        "network's; by default the server's default, as the hosts ask: its library's person",
    )
    args = ap.parse_args()
    from websockets.sync.client import connect

    with served() as url:
        with connect(url, max_size=None) as ws:
            ws.send(encode({"type": "hello", "protocol": 1, "client": "bench-sheet/1"}))
            welcome = decode(ws.recv())
            info = next(m for m in welcome["models"] if m["name"] == MODEL)
            cells = sheet_cells(info["conditions"], cell=256.0)
            walls, points = [], []
            for run in range(args.runs + 1):
                ws.send(
                    encode(
                        {
                            "type": "suggest",
                            "id": -1,
                            "model": MODEL,
                            "mode": "generate",
                            "seed": 1000 + run,
                            **({"use_library": False} if args.network else {}),
                        }
                    )
                )
                character = _done(ws, {-1})["characters"][0]
                wall, drawn = sheet(ws, cells, character, args.open)
                if run:  # the first warms the server up
                    walls.append(wall)
                    points.append(drawn)
        walls.sort()
        p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
        met = "met" if p95 < TARGET_S else "NOT met"
        print(f"Commit {commit()}; {machine()}\n")
        print(
            f"A character sheet of {len(cells)} faces (model `{MODEL}`) through a real server "
            f"(python -m sketch_server, CPU), one connection, {args.open} requests open:\n"
        )
        print("| drawn by | sheets | faces | points a sheet (median) | p50 s | p95 s | target |")
        print("|---|---|---|---|---|---|---|")
        by = "network" if args.network else "library (the server's default)"
        print(
            f"| {by} | {len(walls)} | {len(cells)} | {statistics.median(points):.0f} | "
            f"{statistics.median(walls):.3f} | {p95:.3f} | < {TARGET_S:g} s: {met} |"
        )


if __name__ == "__main__":
    main()
