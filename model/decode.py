"""The decoder's sampling step, fast: one fused LSTM gate product and a vectorised mixture draw.

Per sketch the decoder input is [previous point (5); z (D)], and z never changes while a sketch
is drawn, so its share of the gates (W_z z + b) is computed once when the sketch starts
(`constant`). Each step is then a single [prev; h] x W product for every row, the LSTM cell and
the mixture head, all in float32 numpy: at these sizes (a 128-unit cell, 63 outputs) the cost of
a step is Python and dispatch overhead, which numpy keeps to a few microseconds per operation.
The weights are read from the checkpoint's nn.Modules, so the safetensors file stays the one
source of truth, and `tests/test_decode.py` checks the step against nn.LSTM teacher forcing.
"""

from __future__ import annotations

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from .mixture import RHO_LIMIT
from .network import Decoder


class FastDecoder:
    """A fused-LSTM decoder's weights laid out for batched single steps."""

    def __init__(self, decoder: Decoder) -> None:
        if not decoder.fused:
            raise ValueError(
                "the fast path needs the fused LSTM decoder (no layer norm or recurrent dropout)"
            )
        # A step's products are a few hundred kFLOP: a BLAS thread pool only adds wake-ups and
        # spinning (16 rows took 10 ms a step with it, 95 us without), so numpy's BLAS runs on
        # one thread in a process that decodes.
        threadpool_limits(limits=1, user_api="blas")
        rnn: torch.nn.LSTM = decoder.rnn  # type: ignore[assignment]
        w_ih = rnn.weight_ih_l0.detach().float().cpu().numpy()  # [4H, 5 + D]
        w_hh = rnn.weight_hh_l0.detach().float().cpu().numpy()  # [4H, H]
        H = self.hidden = w_hh.shape[1]
        # Gates reordered from torch's (i, f, g, o) to (i, f, o, g): one sigmoid covers three.
        order = np.concatenate(
            [np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)]
        )
        bias = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().float().cpu().numpy()
        # [prev; h] x w_step: one product for the input point and the recurrence.
        self.w_step = np.ascontiguousarray(np.concatenate([w_ih[:, :5], w_hh], axis=1)[order].T)
        self.w_z = np.ascontiguousarray(w_ih[order, 5:].T)  # [D, 4H]
        self.bias = bias[order]
        proj = decoder.head.proj
        self.w_head = np.ascontiguousarray(proj.weight.detach().float().cpu().numpy().T)
        self.b_head = proj.bias.detach().float().cpu().numpy()
        self.mixtures = m = decoder.head.num_mixture
        self._choices = np.r_[0:m, 6 * m : 6 * m + 3]  # component logits, then pen logits

    def constant(self, z: np.ndarray) -> np.ndarray:
        """z's share of the gates, with both biases: [B, 4H], computed once per sketch."""
        return (np.asarray(z, np.float32) @ self.w_z + self.bias).astype(np.float32)

    def cell(
        self, x: np.ndarray, c: np.ndarray, const: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """One LSTM step: x is [B, 5 + H] = [prev; h]; returns the new h and c, each [B, H]."""
        gates = x @ self.w_step
        gates += const
        H = self.hidden
        s = _sigmoid(gates[:, : 3 * H])  # i, f, o
        c = s[:, H : 2 * H] * c + s[:, :H] * np.tanh(gates[:, 3 * H :])
        h = s[:, 2 * H :] * np.tanh(c)
        return h, c

    def head(self, h: np.ndarray) -> np.ndarray:
        """The raw mixture head outputs [B, 6M + 3] (pi logits, mu, log sigma, rho, pen)."""
        return h @ self.w_head + self.b_head

    def draw(self, out: np.ndarray, temperature: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """One stroke-5 row per sketch from head outputs, as model.mixture.draw draws it:
        noise is [B, 4] (two uniforms for component and pen, two standard normals)."""
        m, n = self.mixtures, len(out)
        t = temperature[:, None]
        rows = np.arange(n)
        k, pen = _pick2(out[:, self._choices] / t, m, noise[:, :2])
        mu = out[:, m : 3 * m].reshape(n, m, 2)[rows, k]
        sigma = np.exp(out[:, 3 * m : 5 * m].reshape(n, m, 2)[rows, k]) * np.sqrt(t)
        rho = np.tanh(out[rows, 5 * m + k]) * RHO_LIMIT
        n1, n2 = noise[:, 2], noise[:, 3]
        row5 = np.zeros((n, 5), dtype=np.float32)
        row5[:, 0] = mu[:, 0] + sigma[:, 0] * n1
        row5[:, 1] = mu[:, 1] + sigma[:, 1] * (rho * n1 + np.sqrt(1.0 - rho**2) * n2)
        row5[rows, 2 + pen] = 1.0
        return row5


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # no overflow warnings for large |x|


def _pick2(logits: np.ndarray, m: int, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-CDF draws from softmax(logits[:, :m]) and softmax(logits[:, m:]) with the
    uniforms u[:, 0] and u[:, 1]: the mixture component and the pen state of each row."""
    logits[:, :m] -= logits[:, :m].max(axis=1, keepdims=True)
    logits[:, m:] -= logits[:, m:].max(axis=1, keepdims=True)
    e = np.exp(logits)
    cdf_k, cdf_p = np.cumsum(e[:, :m], axis=1), np.cumsum(e[:, m:], axis=1)
    k = (cdf_k < u[:, :1] * cdf_k[:, -1:]).sum(axis=1)
    pen = (cdf_p < u[:, 1:] * cdf_p[:, -1:]).sum(axis=1)
    return np.minimum(k, m - 1), np.minimum(pen, 2)
