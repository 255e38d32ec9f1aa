"""An independent forward pass of a sketch-rnn-js decoder, straight from its `.gen.json` file.

Written from the format's description (sketch-rnn-js's loader and Magenta's sketch_rnn model),
in float64 numpy and in TensorFlow's own layout, sharing no code with lab.import_sketchrnn: the
import is checked against this, not against itself.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class NumpyDecoder:
    """A `.gen.json` decoder: TensorFlow's LSTM (gates i, j, f, o; forget bias 1) and the head
    (3 pen logits, then pi, mu_x, mu_y, log sigma_x, log sigma_y, rho logits, M each)."""

    def __init__(self, path: str | Path) -> None:
        info, shapes, blobs = json.loads(Path(path).read_text())
        w = [
            np.frombuffer(base64.b64decode(b), dtype="<i2").astype(np.float64).reshape(s)
            * 10.0
            / 32767.0
            for b, s in zip(blobs, shapes)
        ]
        self.out_w, self.out_b, self.w_xh, self.w_hh, self.bias = w
        self.scale = float(info["scale_factor"])
        self.name = info["name"]
        self.hidden = self.w_hh.shape[0]
        self.m = (self.out_b.shape[0] - 3) // 6

    def cell(self, x: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One LSTM step: x [5] (offsets in the file's units), h and c [H]."""
        z = x @ self.w_xh + h @ self.w_hh + self.bias
        i, j, f, o = np.split(z, 4)
        c = c * _sigmoid(f + 1.0) + _sigmoid(i) * np.tanh(j)
        return np.tanh(c) * _sigmoid(o), c

    def mixture(self, h: np.ndarray) -> dict[str, np.ndarray]:
        out = h @ self.out_w + self.out_b
        pen, rest = out[:3], out[3:]
        pi, mx, my, sx, sy, rho = np.split(rest, 6)
        return {
            "pen": pen,
            "log_pi": pi - np.logaddexp.reduce(pi),
            "mu": np.stack([mx, my], 1),
            "sigma": np.exp(np.stack([sx, sy], 1)),
            "rho": np.tanh(rho),
        }

    def point_nll(self, s5: np.ndarray) -> np.ndarray:
        """Negative log-likelihood of every row of a stroke-5 drawing in the 256 box (offset
        density in box units plus the pen's cross-entropy), from a zero state and the start
        token: [N]."""
        h = c = np.zeros(self.hidden)
        prev = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
        out = []
        for row in s5:
            h, c = self.cell(prev, h, c)
            p = self.mixture(h)
            x, y = row[0] / self.scale, row[1] / self.scale
            dx = (x - p["mu"][:, 0]) / p["sigma"][:, 0]
            dy = (y - p["mu"][:, 1]) / p["sigma"][:, 1]
            r = p["rho"]
            zz = dx**2 + dy**2 - 2 * r * dx * dy
            log_n = (
                -np.log(2 * np.pi)
                - np.log(p["sigma"][:, 0] * p["sigma"][:, 1])
                - 0.5 * np.log(1 - r**2)
                - zz / (2 * (1 - r**2))
            )
            offset = -np.logaddexp.reduce(p["log_pi"] + log_n) + 2 * np.log(self.scale)
            pen = -(p["pen"][np.argmax(row[2:])] - np.logaddexp.reduce(p["pen"]))
            out.append(offset + pen)
            prev = np.array([x, y, *row[2:]])
        return np.array(out)

    def greedy(self, steps: int) -> np.ndarray:
        """The most likely drawing: the likeliest component's mean and the likeliest pen state
        each step, in box units, stroke-5, up to the end of the sketch or `steps` rows."""
        h = c = np.zeros(self.hidden)
        prev = np.array([0.0, 0.0, 1.0, 0.0, 0.0])
        rows = []
        for _ in range(steps):
            h, c = self.cell(prev, h, c)
            p = self.mixture(h)
            k = int(np.argmax(p["log_pi"]))
            pen = np.eye(3)[int(np.argmax(p["pen"]))]
            prev = np.array([*p["mu"][k], *pen])
            rows.append([*(p["mu"][k] * self.scale), *pen])
            if pen[2] == 1:
                break
        return np.array(rows)
