"""The output head: a mixture of M bivariate Gaussians over the next offset plus 3 pen states.

Everything is in log space (log_softmax, logsumexp) so long sketches do not underflow.
Sampling takes its random numbers as an argument, one row per sketch, so each sketch draws from
its own generator and a seed gives the same drawing whatever else shares the batch.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

LOG_2PI = math.log(2.0 * math.pi)
RHO_LIMIT = 1.0 - 1e-4  # keeps 1 - rho^2 away from 0
# A sketch may not end before it has drawn this many points: a suggestion is never empty. The
# pen is then drawn from p_down and p_up alone (the mixture conditioned on going on).
MIN_POINTS = 2


class MixtureParams(NamedTuple):
    """Parameters of the next-point distribution for every position."""

    log_pi: Tensor  # [..., M] log mixture weights
    mu: Tensor  # [..., M, 2] means of (dx, dy)
    log_sigma: Tensor  # [..., M, 2] log standard deviations
    rho: Tensor  # [..., M] correlation of dx and dy
    pen_logits: Tensor  # [..., 3] p_down, p_up, p_end


class MixtureHead(nn.Module):
    """Linear map from decoder states to mixture parameters (6 M + 3 numbers a step)."""

    def __init__(self, hidden_size: int, num_mixture: int) -> None:
        super().__init__()
        self.num_mixture = num_mixture
        self.proj = nn.Linear(hidden_size, 6 * num_mixture + 3)

    def forward(self, h: Tensor) -> MixtureParams:
        out = self.proj(h)  # [..., 6M + 3]
        m = self.num_mixture
        pi, mu, log_sigma, rho, pen = out.split([m, 2 * m, 2 * m, m, 3], dim=-1)
        return MixtureParams(
            log_pi=torch.log_softmax(pi, dim=-1),
            mu=mu.unflatten(-1, (m, 2)),
            log_sigma=log_sigma.unflatten(-1, (m, 2)),
            rho=torch.tanh(rho) * RHO_LIMIT,
            pen_logits=pen,
        )


def offset_log_prob(p: MixtureParams, xy: Tensor) -> Tensor:
    """log p(dx, dy) under the mixture; xy is [..., 2], the result [...]."""
    d = (xy.unsqueeze(-2) - p.mu) * torch.exp(-p.log_sigma)  # [..., M, 2] standardised
    one_minus_rho2 = 1.0 - p.rho**2  # [..., M]
    z = d[..., 0] ** 2 + d[..., 1] ** 2 - 2.0 * p.rho * d[..., 0] * d[..., 1]
    log_n = (
        -LOG_2PI
        - p.log_sigma.sum(-1)
        - 0.5 * torch.log(one_minus_rho2)
        - z / (2.0 * one_minus_rho2)
    )  # [..., M]
    return torch.logsumexp(p.log_pi + log_n, dim=-1)


def _pick(probs: Tensor, u: Tensor) -> Tensor:
    """Inverse-CDF draw of one index per row from probs [B, K] with uniforms u [B]."""
    cdf = probs.cumsum(-1)
    idx = (cdf < u.unsqueeze(-1) * cdf[..., -1:]).sum(-1)
    return idx.clamp_(max=probs.shape[-1] - 1)


def draw(
    p: MixtureParams, temperature: Tensor, noise: Tensor, drawn: Tensor | None = None
) -> Tensor:
    """Draw one stroke-5 row per sketch.

    p holds one step ([B, ...]); temperature is [B]; noise is [B, 4]: two uniforms (component,
    pen) and two standard normals. Temperature sharpens the mixture weights and pen states and
    shrinks the Gaussians by sqrt(temperature), the paper's form (magenta's sampler scales sigma
    by the temperature itself). drawn [B] counts each sketch's points so far: below MIN_POINTS
    it cannot end.
    """
    t = temperature.unsqueeze(-1)  # [B, 1]
    k = _pick(torch.softmax(p.log_pi / t, dim=-1), noise[:, 0])  # [B]
    pen_probs = torch.softmax(p.pen_logits / t, dim=-1)
    if drawn is not None:
        pen_probs = pen_probs * torch.stack(
            [torch.ones_like(t[:, 0]), torch.ones_like(t[:, 0]), (drawn >= MIN_POINTS).float()], -1
        )
    pen = _pick(pen_probs, noise[:, 1])  # [B]
    rows = torch.arange(k.shape[0], device=k.device)
    mu = p.mu[rows, k]  # [B, 2]
    sigma = torch.exp(p.log_sigma[rows, k]) * torch.sqrt(t)  # [B, 2]
    rho = p.rho[rows, k]  # [B]
    n1, n2 = noise[:, 2], noise[:, 3]
    dx = mu[:, 0] + sigma[:, 0] * n1
    dy = mu[:, 1] + sigma[:, 1] * (rho * n1 + torch.sqrt(1.0 - rho**2) * n2)
    out = torch.zeros(k.shape[0], 5, device=k.device)
    out[:, 0], out[:, 1] = dx, dy
    out[rows, 2 + pen] = 1.0
    return out
