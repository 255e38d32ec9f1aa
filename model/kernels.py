"""The decoding step compiled with numba: the gate and head products, the LSTM cell, the
mixture draw and the pen bookkeeping, one call per step for the whole batch.

At a 128-unit cell the arithmetic of a step is a few microseconds; what numpy spends around it
is dispatch, a microsecond or more for each of the thirty-odd small array operations a step
needs. Compiled, a step of one sketch costs about a fifth of that, and the two products go to
BLAS (scipy's, which numba's np.dot calls) without a Python call between them.

`step` releases the GIL, so the event loop serves clients while a step computes: the first
stroke of a suggestion leaves the server in about 1 ms, against 2.5 ms when the worker kept the
GIL until the interpreter's switch interval took it away. The other kernels, a microsecond or
two each, keep it: getting the GIL back from a busy thread can take that switch interval (5 ms),
as numpy's matmul (which releases it) showed, 5 ms a call beside a busy Python thread.
`error_model="numpy"`: no zero-division checks, which would stop LLVM from vectorising.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """Where numba keeps the compiled kernels: the user's cache, never the installed package's
    folder (which may be read-only, or shared by several users)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ai-sketcher" / "numba"


os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir()))  # numba reads it once, on import
from numba import njit  # noqa: E402

_F = np.float32

# Up to this many rows a step multiplies row by row: BLAS's sgemm packs the whole weight
# matrix on every call, which costs a 512-unit decoder 0.5 ms whether it has 2 rows or 60, so a
# small batch (a fair turn's, bench: 5 rows 0.74 ms) paid ten times a row's own 0.07 ms.
GEMV_ROWS = 8

# Stroke-end flags written by `advance`.
STROKE_ENDS = 1
SKETCH_ENDS = 2


@njit(inline="always", error_model="numpy", fastmath=True, cache=True)
def _tanh(x: float) -> float:
    """tanh to 4e-7 in float32: Eigen's rational approximation, which vectorises where libm
    calls would not (PyTorch's own CPU kernels evaluate tanh the same way)."""
    x = min(max(x, _F(-7.90531110763549805)), _F(7.90531110763549805))
    x2 = x * x
    p = x2 * _F(-2.76076847742355e-16) + _F(2.00018790482477e-13)
    p = x2 * p + _F(-8.60467152213735e-11)
    p = x2 * p + _F(5.12229709037114e-08)
    p = x2 * p + _F(1.48572235717979e-05)
    p = x2 * p + _F(6.37261928875436e-04)
    p = x2 * p + _F(4.89352455891786e-03)
    q = x2 * _F(1.19825839466702e-06) + _F(1.18534705686654e-04)
    q = x2 * q + _F(2.26843463243900e-03)
    q = x2 * q + _F(4.89352518554385e-03)
    return x * p / q


@njit(error_model="numpy", fastmath=True, cache=True)
def tanh(x: np.ndarray, out: np.ndarray) -> None:
    """out = tanh(x) elementwise on float32 vectors (for tests of the approximation)."""
    for i in range(x.shape[0]):
        out[i] = _tanh(x[i])


@njit(inline="always", cache=True)
def _point_width(gates: np.ndarray, c: np.ndarray, x: np.ndarray) -> int:
    """Where h starts in x: 5, or 7 for a positional decoder. Checks the shapes, because numba
    does not check indices and a mis-sized array would write past its end."""
    hidden = c.shape[1]
    p = x.shape[1] - hidden
    if gates.shape[1] != 4 * hidden or (p != 5 and p != 7) or min(len(c), len(x)) < len(gates):
        raise ValueError(
            "lstm_cell: gates must be [B, 4H], c [B, H] and x [B, 5 + H] or [B, 7 + H]"
        )
    return p


@njit(error_model="numpy", fastmath=True, cache=True)
def lstm_cell(gates: np.ndarray, c: np.ndarray, x: np.ndarray) -> None:
    """One LSTM step from pre-activation gates [B, 4H], ordered (i, f, o, g): updates the cell
    state c [B, H] in place and writes the new hidden state into x[:, P:], x being the decoder
    input [previous row (5), and the pen's position for a positional decoder (P = 7); h]. x is
    passed whole, not as the strided view x[:, P:], so that numba knows its rows are contiguous
    and vectorises the loop (ten times faster)."""
    hidden = c.shape[1]
    p = _point_width(gates, c, x)
    half, one = _F(0.5), _F(1.0)
    for b in range(gates.shape[0]):
        for u in range(hidden):
            i = half * (_tanh(half * gates[b, u]) + one)  # sigmoid(x) = (tanh(x / 2) + 1) / 2
            f = half * (_tanh(half * gates[b, hidden + u]) + one)
            o = half * (_tanh(half * gates[b, 2 * hidden + u]) + one)
            cell = f * c[b, u] + i * _tanh(gates[b, 3 * hidden + u])
            c[b, u] = cell
            x[b, p + u] = o * _tanh(cell)


@njit(inline="always", error_model="numpy", fastmath=True, cache=True)
def _moments(v: np.ndarray) -> tuple[float, float]:
    """Mean and 1 / sqrt(variance + 1e-5) of a vector, as torch's LayerNorm (biased variance)."""
    total = _F(0.0)
    for k in range(v.shape[0]):
        total += v[k]
    mean = total / _F(v.shape[0])
    sq = _F(0.0)
    for k in range(v.shape[0]):
        sq += (v[k] - mean) * (v[k] - mean)
    return mean, _F(1.0) / math.sqrt(sq / _F(v.shape[0]) + _F(1e-5))


@njit(error_model="numpy", fastmath=True, cache=True)
def ln_lstm_cell(
    gates: np.ndarray, c: np.ndarray, x: np.ndarray, ln_gates: np.ndarray, ln_cell: np.ndarray
) -> None:
    """lstm_cell for model.network.LayerNormLSTMCell: layer norm over all 4H gates (weight
    ln_gates[0], bias ln_gates[1], in the same (i, f, o, g) order), the forget gate's +1, and
    layer norm over the new cell before its tanh (ln_cell [2, H]). Normalises gates in place."""
    hidden = c.shape[1]
    p = _point_width(gates, c, x)
    if ln_gates.shape != (2, 4 * hidden) or ln_cell.shape != (2, hidden):
        raise ValueError("ln_lstm_cell: ln_gates must be [2, 4H] and ln_cell [2, H]")
    half, one = _F(0.5), _F(1.0)
    for b in range(gates.shape[0]):
        g = gates[b]
        mean, inv = _moments(g)
        for k in range(4 * hidden):
            g[k] = (g[k] - mean) * inv * ln_gates[0, k] + ln_gates[1, k]
        for u in range(hidden):
            i = half * (_tanh(half * g[u]) + one)
            f = half * (_tanh(half * (g[hidden + u] + one)) + one)
            c[b, u] = f * c[b, u] + i * _tanh(g[3 * hidden + u])
        row = c[b]
        mean, inv = _moments(row)
        for u in range(hidden):
            o = half * (_tanh(half * g[2 * hidden + u]) + one)
            x[b, p + u] = o * _tanh((row[u] - mean) * inv * ln_cell[0, u] + ln_cell[1, u])


@njit(inline="always", error_model="numpy", cache=True)
def _pick(logits: np.ndarray, first: int, count: int, t: float, u: float) -> int:
    """Inverse-CDF draw from softmax(logits[first:first + count] / t) with the uniform u."""
    top = -np.inf
    for j in range(first, first + count):
        top = max(top, logits[j] / t)
    total = 0.0
    for j in range(first, first + count):
        total += math.exp(logits[j] / t - top)
    threshold, cdf, k = u * total, 0.0, 0
    for j in range(first, first + count):
        cdf += math.exp(logits[j] / t - top)
        if cdf < threshold:
            k += 1
    return min(k, count - 1)


@njit(error_model="numpy", cache=True)
def draw(
    head: np.ndarray,
    temperature: np.ndarray,
    noise: np.ndarray,
    step: np.ndarray,
    mixtures: int,
    rho_limit: float,
    out: np.ndarray,
    min_points: int = 0,
) -> None:
    """One stroke-5 row per sketch from raw head outputs [B, 6M + 3], as model.mixture.draw
    draws it: row b reads its random numbers noise[b, step[b]] (two uniforms for component and
    pen, two standard normals) and writes out[b]. step[b] is also how many points row b has
    drawn: below min_points it cannot end (its pen is drawn from p_down and p_up alone)."""
    m = mixtures
    last = noise.shape[1] - 1
    n = head.shape[0]
    if head.shape[1] < 6 * m + 3 or min(len(temperature), len(noise), len(step), len(out)) < n:
        raise ValueError("draw: head must be [B, 6M + 3], with a temperature, noise and step a row")
    if out.shape[1] != 5 or noise.shape[2] != 4 or last < 0:
        raise ValueError("draw: out must be [B, 5] and noise [B, S >= 1, 4]")
    for b in range(head.shape[0]):
        t = temperature[b]
        r = noise[b, min(step[b], last)]
        k = _pick(head[b], 0, m, t, r[0])
        pen = _pick(head[b], 6 * m, 3 if step[b] >= min_points else 2, t, r[1])
        scale = math.sqrt(t)
        sx = math.exp(head[b, 3 * m + 2 * k]) * scale
        sy = math.exp(head[b, 3 * m + 2 * k + 1]) * scale
        rho = math.tanh(head[b, 5 * m + k]) * rho_limit
        out[b, 0] = head[b, m + 2 * k] + sx * r[2]
        out[b, 1] = head[b, m + 2 * k + 1] + sy * (rho * r[2] + math.sqrt(1.0 - rho * rho) * r[3])
        out[b, 2] = out[b, 3] = out[b, 4] = 0.0
        out[b, 2 + pen] = 1.0


@njit(nogil=True, error_model="numpy", cache=True)
def step(
    x: np.ndarray,
    c: np.ndarray,
    const: np.ndarray,
    w_step: np.ndarray,
    w_head: np.ndarray,
    b_head: np.ndarray,
    temperature: np.ndarray,
    noise: np.ndarray,
    steps: np.ndarray,
    mixtures: int,
    rho_limit: float,
    ln_gates: np.ndarray,
    ln_cell: np.ndarray,
    head: np.ndarray,
    out: np.ndarray,
    min_points: int,
) -> None:
    """One decoder step for every row: x [B, P + H] = [previous row; h] (P = 5), or [previous
    row; pen position; h] (P = 7), and c [B, H] are updated in place (x takes the sampled row,
    and the position moves by its offset), head [B, 6M + 3] gets the mixture head's raw
    outputs and out [B, 5] the sampled stroke-5 rows. const is z's share of the gates with both
    biases (model.decode.FastDecoder.constant); row b draws with noise[b, steps[b]], and cannot
    end before it has drawn min_points points. ln_gates and ln_cell are a layer-norm cell's
    weights, or empty ([0, 0]) for the plain LSTM."""
    if x.shape[0] <= GEMV_ROWS:  # a few rows: a product a row (sgemm would pack all of W)
        gates = np.empty((x.shape[0], w_step.shape[1]), np.float32)
        for b in range(x.shape[0]):
            gates[b] = np.dot(x[b], w_step)
    else:
        gates = np.dot(x, w_step)
    gates += const
    if ln_gates.shape[0] == 0:
        lstm_cell(gates, c, x)
    else:
        ln_lstm_cell(gates, c, x, ln_gates, ln_cell)
    p = x.shape[1] - c.shape[1]
    head[:] = np.dot(np.ascontiguousarray(x[:, p:]), w_head)
    head += b_head
    draw(head, temperature, noise, steps, mixtures, rho_limit, out, min_points)
    x[:, :5] = out
    if p == 7:
        x[:, 5:7] += out[:, :2]


@njit(error_model="numpy", cache=True)
def advance(
    row5: np.ndarray,
    scale_factor: float,
    pos: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    points: np.ndarray,
    count: np.ndarray,
    limit: np.ndarray,
    flags: np.ndarray,
    rows: np.ndarray,
) -> int:
    """Move sketch rows[j]'s pen by its sampled row row5[j] and record the point in document
    units (the rows stepped this turn; the others are left as they are).

    flags[rows[j]] gets STROKE_ENDS when its stroke ended this step and SKETCH_ENDS (as well)
    when it has finished (end of sketch, or max points); returns how many rows have a flag."""
    flagged = 0
    if len(row5) < len(rows):
        raise ValueError("advance: a sampled row for every row stepped")
    for j in range(len(rows)):
        b = rows[j]
        if b < 0 or b >= len(count) or count[b] >= points.shape[1]:  # numba checks no index
            raise ValueError("advance: a row out of range, or with no slot for its next point")
        ended = row5[j, 4] == 1.0
        f = 0
        if not ended:
            for d in range(2):
                pos[b, d] += row5[j, d] * scale_factor
                points[b, count[b], d] = pos[b, d] * scale[b] + offset[b, d]
            count[b] += 1
            if row5[j, 3] == 1.0:
                f = STROKE_ENDS
        if ended or count[b] >= limit[b]:
            f = STROKE_ENDS | SKETCH_ENDS
        flags[b] = f
        flagged += f != 0
    return flagged


def warm_up(hidden: int = 4, mixtures: int = 2) -> None:
    """Compile the kernels (or load them from numba's cache) for the array types decoding
    passes, so that the first suggestion a server draws does not wait a second for them."""
    f32, f64, i64 = np.float32, np.float64, np.int64
    width = 6 * mixtures + 3
    row5, head = np.zeros((1, 5), f32), np.zeros((1, width), f32)
    step(
        np.zeros((1, 5 + hidden), f32), np.zeros((1, hidden), f32), np.zeros((1, 4 * hidden), f32),
        np.zeros((5 + hidden, 4 * hidden), f32), np.zeros((hidden, width), f32),
        np.zeros(width, f32), np.ones(1, f32), np.zeros((1, 1, 4), f32), np.zeros(1, i64),
        mixtures, 0.9, np.zeros((0, 0), f32), np.zeros((0, 0), f32), head, row5, 2,
    )  # fmt: skip
    points = np.zeros((1, 2, 2), f64)
    args = (np.zeros((1, 2), f64), np.ones(1, f64), np.zeros((1, 2), f64), points)
    advance(row5, 1.0, *args, np.zeros(1, i64), np.ones(1, i64), np.zeros(1, i64), np.zeros(1, i64))
