"""Does a drawn "character" stay one person across its emotions and views? The baseline of issue 30.

The face generator draws a person (lab.datasets.face_identity's `Identity`: hair style, head
shape class, beard, ...) apart from the emotion and the view, but nothing trains the `faces`
model to keep a person yet: today the seed is the only handle a user has. This script measures
the baseline that future work must beat.

Judges: one small CNN (lab.classifier's SketchClassifier on 48 px rasters, a head per attribute,
trained here on label arrays, since lab.classifier trains on a prepared file's conditions) reads
back identity attributes from a drawing: hair style (14 classes, 7 per gender), head shape class
(round/oval/long: HEAD_ASPECTS) and beard (yes/no, on male faces; "line" and "stubble" are
yes). It is trained ONLY on generator faces of --seed (3: the faces model was
trained on seed 0, its attribute judges on seed 1), and its accuracy is measured on faces of
identities it never saw (the ceiling of everything below). Its gender, emotion, style and view
heads say whether the conditions are still followed.

Agreement: a character is a gender and a style; its 21 faces are its 7 emotions x 3 views. Each
identity attribute is read back on every face and compared with the reading on its first face
(neutral, frontal); the share that agrees is reported over the other 20 faces of every character
(beard: male characters only), for
  - the generator drawing one identity in all 21: the data's own ceiling;
  - the generator drawing a new identity for each face: the floor of a judge's agreement;
  - the shipped faces model from conditions alone at temperature 0.02, the network alone
    (use_library=False) and with its library, with the SAME seed for all 21 faces (the seed's
    z) and with a DIFFERENT seed for each;
  - the network alone drawing each character's first face and KEEPING its character (what Keep
    character keeps: that drawing, encoded), then the other 20 faces with it, as a sheet does;
    and the same with z_s alone (the drawing's z_r and ad zeroed); with --best-of K, also each
    of those 20 faces chosen from K drawn (seeds apart, half at the sheet's temperature and half
    at 0.2) as the one whose own encoding lies nearest the kept latent: re-ranking by the
    model's own encoder, which no judge sees;
  - the same with the library: the first face a library drawing, the other 20 the library's
    drawings of that person (when it holds each in every look; else the network's).
Several --checkpoint models are measured one after another by the same judges.
"follows" columns: how often the condition judges read back the requested gender, emotion, style
and view.
AI_SKETCHER_DOCS_QUICK=1 (model.cli.quick) shrinks the judges' data and steps and the characters.

    python bench/measure_identity.py --checkpoint model/weights/faces [runs/faces-ident ...]
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.classifier import ClassifierConfig, SketchClassifier  # noqa: E402
from lab.datasets.face_identity import (  # noqa: E402
    FEMALE_HAIR_STYLES,
    HEAD_SHAPES,
    MALE_HAIR_STYLES,
    Identity,
    identity,
)
from lab.datasets.faces import (  # noqa: E402
    ATTRIBUTES,
    CATEGORY,
    LOOKS,  # neutral frontal first
    face_identity,
    face_sketch,
    generate_face,
)
from lab.sources import to_box  # noqa: E402
from model import character, cli  # noqa: E402
from model.checkpoint import Checkpoint, load  # noqa: E402
from model.library import SketchLibrary, open_library  # noqa: E402
from model.raster import rasterize_all  # noqa: E402
from model.rows import DoneEvent  # noqa: E402
from model.sample import DecodeBatch, SketchRequest  # noqa: E402
from model.strokes import stroke3_to_polylines  # noqa: E402

RASTER = 48  # px: hair styles need more detail than the attribute judges' 32
TEMPERATURE = 0.02
Sketch = list[np.ndarray]
# The identity attributes the judges read: name -> (classes, label of an identity or None)
IDENTITY_JUDGES: dict[str, tuple[tuple[str, ...], Callable[[Identity], str | None]]] = {
    "hair style": (FEMALE_HAIR_STYLES + MALE_HAIR_STYLES, lambda p: p.hair.style),
    "head shape": (HEAD_SHAPES, lambda p: p.head.shape),
    "beard": (
        ("no", "yes"),
        lambda p: None if p.female else ("no", "yes")[p.features.beard != "none"],
    ),
}
CONDITION_JUDGES = ("gender", "emotion", "style", "view")
CELLS = tuple(itertools.product(ATTRIBUTES["gender"], ATTRIBUTES["style"]))


def train_heads(
    net: SketchClassifier,
    slices: dict[str, slice],
    images: np.ndarray,
    labels: dict[str, np.ndarray],
    seed: int,
) -> None:
    """Train a CNN whose logits hold a head per name (its slice) on rasters and each head's
    class indices (-1: not labelled, no loss)."""
    cfg = net.cfg
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.learning_rate, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.learning_rate, total_steps=cfg.steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=-1)
    net.train()
    for _ in range(cfg.steps):
        pick = rng.integers(0, len(images), cfg.batch_size)
        logits = net(torch.tensor(images[pick])[:, None])
        loss = sum(
            loss_fn(logits[:, cut], torch.tensor(labels[name][pick]))
            for name, cut in slices.items()
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    net.eval()


class Judges:
    """One CNN (lab.classifier's SketchClassifier) with a head per judge: the judges share their
    features, so training them together costs one network's steps."""

    def __init__(self, classes: dict[str, tuple[str, ...]], steps: int, seed: int = 0) -> None:
        self.classes = classes
        flat = tuple(f"{name}={c}" for name, values in classes.items() for c in values)
        cfg = ClassifierConfig(attribute="identity", classes=flat, raster_size=RASTER, steps=steps)
        torch.manual_seed(seed)
        self.seed = seed
        self.net = SketchClassifier(cfg)
        bounds = np.cumsum([0, *(len(v) for v in classes.values())])
        self.slices = {name: slice(a, b) for name, a, b in zip(classes, bounds[:-1], bounds[1:])}

    def train(self, images: np.ndarray, labels: dict[str, np.ndarray]) -> None:
        """Train on rasters and each judge's class indices (-1: not labelled, no loss)."""
        train_heads(self.net, self.slices, images, labels, self.seed)

    @torch.no_grad()
    def predict(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Each judge's class index for rasters [B, R, R]."""
        x = torch.tensor(np.asarray(images, dtype=np.float32))[:, None]
        logits = torch.cat([self.net(chunk) for chunk in x.split(256)])
        return {name: logits[:, cut].argmax(-1).numpy() for name, cut in self.slices.items()}

    def read(self, sketches: Sequence[Sketch]) -> dict[str, np.ndarray]:
        return self.predict(rasterize_all(list(sketches), RASTER))


def generator_data(seed: int, start: int, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Rasters of faces start .. start + n - 1 of the data set with this seed, and each judge's
    class index per face (-1 where it does not apply)."""
    sketches, labels = [], {name: [] for name in [*IDENTITY_JUDGES, *CONDITION_JUDGES]}
    for i in range(start, start + n):
        s = face_sketch(seed, i)
        sketches.append(stroke3_to_polylines(s.stroke3))
        person = face_identity(seed, s.identity)
        for name, (classes, label) in IDENTITY_JUDGES.items():
            value = label(person)
            labels[name].append(-1 if value is None else classes.index(value))
        for name in CONDITION_JUDGES:
            labels[name].append(ATTRIBUTES[name].index(s.attributes[name]))
        labels.setdefault("person", []).append(s.identity)
    return rasterize_all(sketches, RASTER), {k: np.array(v) for k, v in labels.items()}


class Verifier:
    """Same person or not: a CNN (lab.classifier's SketchClassifier) trained to name the
    generator's training identities, whose pooled features, unit length, embed a face; two faces
    are one person when their cosine passes a threshold set on faces of unseen identities."""

    def __init__(self, people: int, steps: int, seed: int = 0) -> None:
        torch.manual_seed(seed)
        classes = tuple(str(i) for i in range(people))
        cfg = ClassifierConfig(
            attribute="person", classes=classes, raster_size=RASTER, channels=(32, 64, 128),
            steps=steps,
        )  # fmt: skip
        self.net, self.seed, self.threshold = SketchClassifier(cfg), seed, 0.5

    def train(self, images: np.ndarray, people: np.ndarray) -> None:
        train_heads(self.net, {"person": slice(None)}, images, {"person": people}, self.seed)

    @torch.no_grad()
    def embed(self, images: np.ndarray) -> np.ndarray:
        x = torch.tensor(np.asarray(images, dtype=np.float32))[:, None]
        f = torch.cat([self.net.features(chunk).mean(dim=(2, 3)) for chunk in x.split(256)])
        return torch.nn.functional.normalize(f, dim=1).numpy()

    def calibrate(self, images: np.ndarray, people: np.ndarray, cells: np.ndarray) -> float:
        """Set the threshold on half the unseen identities (balanced accuracy on same-person
        pairs against pairs of different people of one gender and style); return the balanced
        accuracy on the other half."""
        e = self.embed(images)
        ids = np.unique(people)
        halves = ids[::2], ids[1::2]
        scores = []
        for part in halves:
            keep = np.isin(people, part)
            same, diff = pairs(people[keep], cells[keep])
            idx = np.flatnonzero(keep)
            scores.append((cosines(e, idx[same]), cosines(e, idx[diff])))
        (s0, d0), (s1, d1) = scores
        candidates = np.unique(np.concatenate([s0, d0]))
        accuracy = [balanced(s0, d0, t) for t in candidates]
        self.threshold = float(candidates[int(np.argmax(accuracy))])
        return balanced(s1, d1, self.threshold)

    def verify(self, faces: list[list[Sketch]], characters: Sequence[tuple[str, str]]) -> float:
        """Balanced accuracy over characters' faces: face 1 against faces 2..21 of the same
        character (same person) and against the same look of another character of its gender
        and style (different people)."""
        e = [self.embed(rasterize_all(drawn, RASTER)) for drawn in faces]
        same = [float(e[c][0] @ e[c][k]) for c in range(len(faces)) for k in range(1, len(LOOKS))]
        diff = [
            float(e[c][k] @ e[d][k])
            for c in range(len(faces))
            for d in range(c + 1, len(faces))
            if characters[c] == characters[d]
            for k in range(len(LOOKS))
        ]
        return balanced(np.array(same), np.array(diff), self.threshold)


def pairs(people: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs [P, 2] of the same person, and as many of different people in one cell."""
    same = np.array(
        [(i, j) for i in range(len(people)) for j in range(i + 1, len(people))
         if people[i] == people[j]]
    )  # fmt: skip
    rng = np.random.default_rng(0)
    diff: list[tuple[int, int]] = []
    while len(diff) < len(same):
        i, j = rng.integers(0, len(people), 2)
        if people[i] != people[j] and cells[i] == cells[j]:
            diff.append((int(i), int(j)))
    return same, np.array(diff)


def cosines(e: np.ndarray, index_pairs: np.ndarray) -> np.ndarray:
    return (e[index_pairs[:, 0]] * e[index_pairs[:, 1]]).sum(1)


def balanced(same: np.ndarray, diff: np.ndarray, threshold: float) -> float:
    """(share of same pairs at or above the threshold + share of different ones below) / 2."""
    return float(((same >= threshold).mean() + (diff < threshold).mean()) / 2)


def character_faces(seed: int, c: int, gender: str, style: str, same: bool) -> list[Sketch]:
    """The generator's 21 faces of character c: one identity (same) or a new one for each."""
    out = []
    for k, (emotion, view) in enumerate(LOOKS):
        person = identity(
            np.random.SeedSequence(seed, spawn_key=(c, k if not same else 0)), gender, style
        )
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(c, 100 + k)))
        strokes, _ = generate_face(rng, {"emotion": emotion, "view": view}, person)
        out.append(stroke3_to_polylines(to_box(strokes)))
    return out


def model_faces(
    ckpt: Checkpoint,
    library: SketchLibrary | None,
    characters: Sequence[tuple[str, str]],
    seed_of: Callable[[int, int], int],
    kept: Sequence[str] | None = None,
) -> list[list[Sketch]]:
    """The model's 21 faces per character (its gender and style, each emotion and view), with
    seed_of(character, face) as the seed and kept[character] as the `character` if given, all
    decoded in one batch."""
    batch = DecodeBatch(ckpt, library)
    for c, (gender, style) in enumerate(characters):
        for k, (emotion, view) in enumerate(LOOKS):
            conditions = {"gender": gender, "emotion": emotion, "style": style, "view": view}
            req = SketchRequest(
                conditions=conditions,
                seed=seed_of(c, k),
                temperature=TEMPERATURE,
                use_library=library is not None,
                character=None if kept is None else kept[c],
            )
            batch.add(req, tag=(c, k))
    return _drawn(batch, len(characters), len(LOOKS))


def _drawn(batch: DecodeBatch, characters: int, faces: int) -> list[list[Sketch]]:
    """Every face of a batch tagged (character, face), decoded to the end."""
    out: list[list[Sketch]] = [[[] for _ in range(faces)] for _ in range(characters)]
    while len(batch):
        for event in batch.step():
            if isinstance(event, DoneEvent):
                c, k = event.tag
                out[c][k] = event.strokes
    return out


def kept_characters(
    ckpt: Checkpoint,
    characters: Sequence[tuple[str, str]],
    seed_of: Callable[[int], int],
    library: SketchLibrary | None = None,
) -> list[str]:
    """Each character's first face (neutral, frontal), drawn from seed_of(character), and the
    `character` its done carries: what Keep character keeps (the drawing, encoded; with a
    library, the library drawing's person)."""
    batch = DecodeBatch(ckpt, library)
    for c, (gender, style) in enumerate(characters):
        emotion, view = LOOKS[0]
        conditions = {"gender": gender, "emotion": emotion, "style": style, "view": view}
        req = SketchRequest(
            conditions=conditions,
            seed=seed_of(c),
            temperature=TEMPERATURE,
            use_library=library is not None,
        )
        batch.add(req, tag=c)
    kept = [""] * len(characters)
    while len(batch):
        for event in batch.step():
            if isinstance(event, DoneEvent):
                kept[event.tag] = event.character
    return kept


def best_of(
    ckpt: Checkpoint,
    characters: Sequence[tuple[str, str]],
    seed_of: Callable[[int], int],
    kept: Sequence[str],
    k: int,
) -> list[list[Sketch]]:
    """Each character's 21 faces drawn with its kept character, each the nearest of k
    candidates (seeds apart; the first half at TEMPERATURE, the rest at 0.2) to the kept
    latent by its own drawing's encoding, as the model encodes any finished drawing."""
    sharp = max(1, k // 2)
    temperatures = [TEMPERATURE] * sharp + [0.2] * (k - sharp)
    batch = DecodeBatch(ckpt, None)
    codes: dict[tuple[int, int], torch.Tensor] = {}  # conditions as drawn, category filled in
    for c, (gender, style) in enumerate(characters):
        for f, (emotion, view) in enumerate(LOOKS):
            conditions = {"gender": gender, "emotion": emotion, "style": style, "view": view}
            code = ckpt.vocab.encode({"category": CATEGORY, **conditions})[: ckpt.model.cond_dim]
            codes[c, f] = torch.tensor(code, dtype=torch.float32)[None]
            for j, t in enumerate(temperatures):
                req = SketchRequest(
                    conditions=conditions, seed=seed_of(c) + 7919 * j, temperature=t,
                    use_library=False, character=kept[c],
                )  # fmt: skip
                batch.add(req, tag=(c, f, j))
    wanted = [character.decode(ckpt, who)[0] for who in kept]
    drawn: dict[tuple[int, int], list[tuple[float, Sketch]]] = {}
    while len(batch):
        for event in batch.step():
            if isinstance(event, DoneEvent):
                c, f, _ = event.tag
                z = batch.latent_of(event.strokes, codes[c, f])
                own = wanted[c]
                far = np.inf if z is None else float(np.linalg.norm(z[: len(own)] - own))
                drawn.setdefault((c, f), []).append((far, event.strokes))
    return [
        [min(drawn[c, f], key=lambda d: d[0])[1] for f in range(len(LOOKS))]
        for c in range(len(characters))
    ]


def share(hits: Sequence[bool]) -> str:
    return f"{np.mean(hits):.0%}" if len(hits) else "-"


def agreement_row(
    judges: Judges, characters: Sequence[tuple[str, str]], faces: list[list[Sketch]]
) -> list[str]:
    """Per identity attribute, the share of faces 2..21 read as face 1 is; then the share of all
    faces whose gender, emotion, style and view read back as asked."""
    readings = [judges.read(drawn) for drawn in faces]
    cells = []
    for name in IDENTITY_JUDGES:
        hits: list[bool] = []
        for (gender, _), got in zip(characters, readings):
            if name != "beard" or gender == "male":
                hits += list(got[name][1:] == got[name][0])
        cells.append(share(hits))
    for name in CONDITION_JUDGES:
        hits = []
        for (gender, style), got in zip(characters, readings):
            own = {"gender": gender, "style": style}
            asked = [own.get(name) or dict(emotion=e, view=v)[name] for e, v in LOOKS]
            hits += [ATTRIBUTES[name][g] == a for g, a in zip(got[name], asked)]
        cells.append(share(hits))
    return cells


def model_rows(
    path: str,
    characters: Sequence[tuple[str, str]],
    base: int,
    with_library: bool,
    named: bool,
    with_network: bool = True,
    best: int = 0,
) -> list[tuple[str, list[list[Sketch]]]]:
    """The rows of one faces model: the same seed and a seed per face (network alone, and with
    its library), and its first face kept as the character of the other 20, with its whole
    latent and with z_s alone."""
    ckpt = load(path)
    library = open_library(path, ckpt) if with_library else None
    model = f"faces model {path}" if named else "faces model"
    rows = []
    if with_library and library is None:
        raise cli.CommandError(f"{path} has no library; add --no-library")
    lanes = [("network", None)] if with_network else []
    for lib_name, lib in [*lanes, *([("library", library)] if library else [])]:
        same = model_faces(ckpt, lib, characters, lambda c, k: base + c)
        other = model_faces(ckpt, lib, characters, lambda c, k: base + len(LOOKS) * c + k + 10_000)
        rows.append((f"{model} ({lib_name}), same seed", same))
        # Keep character on the first face, then the other 20 with it
        kept = kept_characters(ckpt, characters, lambda c: base + c, lib)
        chosen = [("the first face kept as its character", kept)]
        if lib is None:
            chosen.append(
                ("kept, z_s alone (z_r and ad zeroed)", [z_s_alone(ckpt, k) for k in kept])
            )
        for title, chars in chosen:
            rows.append(
                (
                    f"{model} ({lib_name}), {title}",
                    model_faces(ckpt, lib, characters, lambda c, k: base + c, chars),
                )
            )
        if lib is None and best > 1:
            rows.append(
                (
                    f"{model} ({lib_name}), kept, each face the best of {best} by its encoding",
                    best_of(ckpt, characters, lambda c: base + c, kept, best),
                )
            )
        rows.append((f"{model} ({lib_name}), a seed per face", other))
    return rows


def z_s_alone(ckpt: Checkpoint, kept: str) -> str:
    """A character with its drawing's z_r and ad zeroed: does z_s alone say who?"""
    identity, conditions = character.decode(ckpt, kept)
    identity[ckpt.model.cfg.z_size :] = 0.0
    c = ckpt.vocab.encode(conditions)[: ckpt.model.cond_dim]
    return character.encode(ckpt, np.concatenate([identity, c]))


def main(argv: list[str] | None = None) -> None:
    ap = cli.parser(
        "python bench/measure_identity.py",
        "Measure how well a drawn character keeps one person across its emotions and views.",
    )
    ap.add_argument(
        "--checkpoint",
        nargs="+",
        default=["model/weights/faces"],
        help="faces models, measured one after another by the same judges",
    )
    ap.add_argument("--seed", type=int, default=3, help="generator seed of the judges' faces")
    ap.add_argument("--train", type=int, default=6000, help="generator faces the judges learn")
    ap.add_argument("--held-out", type=int, default=1260, help="faces of unseen identities")
    ap.add_argument(
        "--steps", type=int, default=1500, help="training steps of the judges (one network)"
    )
    ap.add_argument("--characters", type=int, default=24, help="characters (over 6 cells)")
    only = ap.add_mutually_exclusive_group()
    only.add_argument("--no-library", action="store_true", help="the network alone only")
    only.add_argument("--no-network", action="store_true", help="the library's rows only")
    ap.add_argument(
        "--best-of", type=int, default=0, metavar="K",
        help="also a kept network character's faces each chosen from K by its own encoding",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.best_of < 0:
        ap.error(f"--best-of must be 0 or more; got {args.best_of}")
    train_n = cli.quick(args.train, 252, "--train")
    held_n = cli.quick(args.held_out, 126, "--held-out")
    steps = cli.quick(args.steps, 40, "--steps")
    n_chars = cli.quick(args.characters, 12, "--characters")  # two a cell: pairs to verify
    # whole blocks of 126 faces, so held-out faces are of identities the judges never saw
    train_n = -(-train_n // 126) * 126
    started = time.perf_counter()

    x_train, y_train = generator_data(args.seed, 0, train_n)
    x_test, y_test = generator_data(args.seed, train_n, held_n)
    classes = {name: values for name, (values, _) in IDENTITY_JUDGES.items()}
    judges = Judges({**classes, **{name: ATTRIBUTES[name] for name in CONDITION_JUDGES}}, steps)
    judges.train(x_train, y_train)
    got = judges.predict(x_test)
    print(f"## Judges (generator seed {args.seed}; {train_n} faces, {steps} steps)\n")
    print("| judge | classes | held-out faces | accuracy | majority class |")
    print("|---|---|---|---|---|")
    for name, values in judges.classes.items():
        keep = y_test[name] >= 0
        acc = float((got[name][keep] == y_test[name][keep]).mean())
        majority = np.bincount(y_test[name][keep], minlength=len(values)).max() / keep.sum()
        print(f"| {name} | {len(values)} | {keep.sum()} | {acc:.1%} | {majority:.1%} |")

    people = y_train["person"] - y_train["person"].min()
    verifier = Verifier(int(people.max()) + 1, steps)
    verifier.train(x_train, people)
    cells = y_test["gender"] * 10 + y_test["style"]
    ceiling = verifier.calibrate(x_test, y_test["person"], cells)
    print(
        f"\nVerifier (same person or not; {people.max() + 1} identities, {steps} steps): "
        f"{ceiling:.1%} balanced accuracy on pairs of faces of identities it never saw, "
        f"threshold {verifier.threshold:.3f} set on another half of them (chance 50%)."
    )

    characters = [CELLS[c % len(CELLS)] for c in range(n_chars)]
    base = 1000  # seeds of the model's characters; the generator's characters use seed 1000 too
    rows: list[tuple[str, list[list[Sketch]]]] = [
        (
            "generator, one identity",
            [character_faces(base, c, *ch, True) for c, ch in enumerate(characters)],
        ),
        (
            "generator, a new identity per face",
            [character_faces(base, c, *ch, False) for c, ch in enumerate(characters)],
        ),
    ]
    for path in args.checkpoint:
        rows += model_rows(
            path,
            characters,
            base,
            not args.no_library,
            len(args.checkpoint) > 1,
            not args.no_network,
            args.best_of,
        )

    names = list(IDENTITY_JUDGES)
    print(
        f"\n## Agreement with the first face ({n_chars} characters x 21 faces; "
        f"temperature {TEMPERATURE})\n"
    )
    head = " | ".join(
        [
            *(f"{n} agrees" for n in names),
            "verified",
            *(f"{n} follows" for n in CONDITION_JUDGES),
        ]
    )
    print(f"| drawn by | {head} |")
    print("|---|" + "---|" * (len(names) + 1 + len(CONDITION_JUDGES)))
    for title, faces in rows:
        cells_ = agreement_row(judges, characters, faces)
        cells_.insert(len(names), f"{verifier.verify(faces, characters):.0%}")
        print(f"| {title} | " + " | ".join(cells_) + " |")
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    cli.exit_with(main, "python bench/measure_identity.py")
