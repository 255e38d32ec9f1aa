"""The decoder's sampling step, fast: one fused LSTM gate product and compiled per-step loops.

Per sketch the decoder input is [previous point (5); z (D)], and z never changes while a sketch
is drawn, so its share of the gates (W_z z + b) is computed once when the sketch starts
(`constant`). Each step is then a single [prev; h] x W product for every row, the LSTM cell,
the head product and the mixture draw, all in one compiled call (model.kernels): at these sizes
(a 128-unit cell, 63 outputs) the cost of a step in numpy is dispatch, not arithmetic. The
weights are read from the checkpoint's nn.Modules, so the safetensors file stays the one source
of truth, and `tests/test_decode.py` checks the step against nn.LSTM teacher forcing.
"""

from __future__ import annotations

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from . import kernels
from .mixture import MIN_POINTS, RHO_LIMIT
from .network import Decoder


class FastDecoder:
    """A decoder's weights laid out for batched single steps: the fused nn.LSTM, or the layer-norm
    cell (whose recurrent dropout is off when drawing)."""

    def __init__(self, decoder: Decoder) -> None:
        def numpy(t: torch.Tensor) -> np.ndarray:
            return t.detach().float().cpu().numpy()

        rnn = decoder.rnn
        H = self.hidden = decoder.hidden
        P = self.point = decoder.point  # the step's input before z: the row (and position)
        # Gates reordered from torch's (i, f, g, o) to (i, f, o, g): one sigmoid covers three.
        order = np.concatenate(
            [np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)]
        )
        if decoder.fused:
            w_ih, w_hh = numpy(rnn.weight_ih_l0), numpy(rnn.weight_hh_l0)  # [4H, P + D], [4H, H]
            bias = numpy(rnn.bias_ih_l0 + rnn.bias_hh_l0)
            self.ln_gates = self.ln_cell = np.zeros((0, 0), np.float32)
        else:  # LayerNormLSTMCell: ih has no bias; the norm follows ih(x) + hh(h)
            w_ih, w_hh, bias = numpy(rnn.ih.weight), numpy(rnn.hh.weight), numpy(rnn.hh.bias)
            gates = np.stack([numpy(rnn.ln_gates.weight), numpy(rnn.ln_gates.bias)])
            self.ln_gates = np.ascontiguousarray(gates[:, order])
            self.ln_cell = np.stack([numpy(rnn.ln_cell.weight), numpy(rnn.ln_cell.bias)])
        # [prev; h] x w_step: one product for the input point and the recurrence.
        self.w_step = np.ascontiguousarray(np.concatenate([w_ih[:, :P], w_hh], axis=1)[order].T)
        self.w_z = np.ascontiguousarray(w_ih[order, P:].T)  # [D, 4H]
        self.bias = bias[order]
        proj = decoder.head.proj
        self.w_head = np.ascontiguousarray(numpy(proj.weight).T)
        self.b_head = numpy(proj.bias)
        self.mixtures = decoder.head.num_mixture
        self._buffers: dict[str, np.ndarray] = {}
        self.head_out = np.zeros((0, self.w_head.shape[1]), np.float32)
        kernels.warm_up()  # which also loads the BLAS the kernels call (scipy's)
        # A step's products are a few hundred kFLOP: a BLAS thread pool only adds wake-ups and
        # spinning (16 rows took 10 ms a step with it, 95 us without), so every BLAS runs on
        # one thread in a process that decodes.
        threadpool_limits(limits=1, user_api="blas")

    def constant(self, z: np.ndarray) -> np.ndarray:
        """z's share of the gates, with both biases: [B, 4H], computed once per sketch."""
        return (np.asarray(z, np.float32) @ self.w_z + self.bias).astype(np.float32)

    def step(
        self,
        x: np.ndarray,
        c: np.ndarray,
        const: np.ndarray,
        temperature: np.ndarray,
        noise: np.ndarray,
        steps: np.ndarray,
    ) -> np.ndarray:
        """Advance every row one step in place and return the sampled stroke-5 rows [B, 5].

        x [B, P + H] is [previous row (and pen position); h] and gets the sampled row (and the
        moved position) and the new h, c [B, H] the new cell; row b draws with noise[b,
        steps[b]] (two uniforms for component and pen, two standard normals). `head_out` then
        holds the step's raw mixture head outputs."""
        n = len(x)
        self.head_out = self._buffer("head", n, self.w_head.shape[1])
        row5 = self._buffer("row5", n, 5)
        kernels.step(
            x, c, const, self.w_step, self.w_head, self.b_head, temperature, noise, steps,
            self.mixtures, RHO_LIMIT, self.ln_gates, self.ln_cell, self.head_out, row5,
            MIN_POINTS,
        )  # fmt: skip
        return row5

    def _buffer(self, name: str, rows: int, width: int) -> np.ndarray:
        """A preallocated float32 [rows, width] work array, grown when the batch outgrows it."""
        buf = self._buffers.get(name)
        if buf is None or len(buf) < rows:
            buf = self._buffers[name] = np.empty(
                (max(rows, 0 if buf is None else 2 * len(buf)), width), np.float32
            )
        return buf[:rows]
