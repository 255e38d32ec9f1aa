"""Magenta's pretrained Sketch-RNN decoders load and score real drawings better than noise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lab.reference import MagentaDecoder
from lab.sources import to_box

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BIRD = SHARED / "pretrained" / "sketch-rnn-js" / "bird.gen.json"
BIRDS = SHARED / "quickdraw" / "simplified_first25" / "bird.ndjson"


@pytest.mark.skipif(not BIRD.exists() or not BIRDS.exists(), reason="needs ../shared/data")
def test_pretrained_bird_prefers_real_birds_to_scribbles():
    """Real QuickDraw birds get a lower l_r than random scribbles of the same length."""
    decoder = MagentaDecoder(BIRD)
    assert decoder.name == "bird" and decoder.hidden == 512 and decoder.num_mixture == 20
    lines = BIRDS.read_text().splitlines()[:5]
    birds = [
        to_box([np.array(s, float).T for s in json.loads(line)["drawing"]]).astype(float)
        for line in lines
    ]
    rng = np.random.default_rng(0)
    scribbles = []
    for b in birds:
        noise = b.copy()
        noise[:, :2] = rng.normal(0, 60, (len(b), 2)).round()
        scribbles.append(noise)
    real, fake = decoder.l_r(birds), decoder.l_r(scribbles)
    assert np.isfinite(real) and real < fake - 0.5, (real, fake)


def test_missing_files_are_named_not_a_traceback(tmp_path, capsys):
    """A pretrained or data file that does not exist is named in one usage error."""
    from lab.reference import main

    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "--pretrained",
                str(tmp_path / "cat.gen.json"),
                "--data",
                str(tmp_path / "d.npz"),
                "--checkpoint",
                str(tmp_path),
            ]
        )
    assert exit_.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_box_units_move_each_offset_density_by_the_scale() -> None:
    """Offsets scored after dividing by s are s^2 denser per point: l_r grows by 2 ln s per point
    (per N_max), so models with other scale factors compare in one unit."""
    import math

    from lab.reference import N_MAX, box_units

    assert box_units(0.25, 1.0, 100) == 0.25
    assert math.isclose(box_units(0.0, math.exp(0.5), N_MAX), 1.0)
    assert math.isclose(box_units(0.1, 37.0, 50), 0.1 + 2 * math.log(37.0) * 50 / N_MAX)
