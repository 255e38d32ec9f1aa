"""Draw character sheets the way the add-ons do, for docs/: four characters, each in every
emotion (columns) and view (rows).

python docs/figures_characters.py [--checkpoint DIR] [--library] [--out docs/faces-characters.png]

Each character is a new face (female and male, cartoon and realistic, at the model's own
Variety), kept by its `character`; its 21 faces are `generate` requests with that character and
each cell's emotion and view (wire.character.sheet_cells), as Character sheet in Blender, Krita
and the page asks the server. By default the network alone draws them; with --library the
model's library too, as the server does by default (a library person is drawn from the library
in every look).
"""

from __future__ import annotations

from pathlib import Path

from lab.render import write_grid
from model import cli
from model.checkpoint import load, shipped
from model.library import open_library
from model.sample import DoneEvent, SketchRequest, stream
from wire.character import sheet_cells

PROG = "python docs/figures_characters.py"
CHARACTERS = (  # conditions of each character's first face, and its seed
    ({"gender": "female", "style": "cartoon"}, 7),
    ({"gender": "male", "style": "cartoon"}, 8),
    ({"gender": "female", "style": "realistic"}, 9),
    ({"gender": "male", "style": "realistic"}, 10),
)


def main(argv: list[str] | None = None) -> None:
    ap = cli.parser(PROG, "Draw four character sheets for docs/.", epilog=__doc__.split("\n\n")[1])
    ap.add_argument("--checkpoint", default=str(shipped("faces")), help="the faces model")
    ap.add_argument("--out", default="docs/faces-characters.png", help="the PNG to write")
    ap.add_argument(
        "--library", action="store_true", help="draw with the model's library, as the server does"
    )
    args = ap.parse_args(argv)
    ckpt = load(args.checkpoint)
    library = open_library(args.checkpoint, ckpt) if args.library else None
    if args.library and library is None:
        raise cli.CommandError(f"{args.checkpoint} has no library; leave out --library")
    temperature = ckpt.sample.temperature
    welcome = {a: list(ckpt.vocab.values[a]) for a in ckpt.vocab.attributes}
    cells = sheet_cells(welcome)[: cli.quick(21, 3, "faces a sheet")]
    sketches, labels = [], []
    for c, (conditions, seed) in enumerate(CHARACTERS):
        first = SketchRequest(
            conditions=conditions,
            seed=seed,
            use_library=library is not None,
            temperature=temperature,
        )
        character = next(
            e for e in stream(ckpt, first, library) if isinstance(e, DoneEvent)
        ).character
        for k, cell in enumerate(cells):
            req = SketchRequest(
                conditions=dict(cell.conditions),
                character=character,
                seed=seed * 100 + k,
                temperature=temperature,
                use_library=library is not None,
            )
            done = next(e for e in stream(ckpt, req, library) if isinstance(e, DoneEvent))
            sketches.append(done.strokes)
            look = cell.label.replace("mid-profile ", "").replace("frontal", "front")
            labels.append(f"{c + 1}: {look}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_grid(args.out, sketches, labels, columns=len(welcome.get("emotion", [""])))
    print(f"wrote {args.out}: {len(CHARACTERS)} characters x {len(cells)} faces")


if __name__ == "__main__":
    cli.exit_with(main, PROG)
