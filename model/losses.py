"""Loss terms as pure functions: l_r (reconstruction), l_z and l_a (KL), the raster loss.

Normalisation follows magenta's sketch_rnn so figures compare with published ones: l_r sums
over the points of each sketch and divides by batch size times N_max; the KL terms average over
the batch and the latent dimensions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .mixture import MixtureParams, offset_log_prob


def reconstruction_loss(
    params: MixtureParams,
    target: Tensor,
    lengths: Tensor,
    n_max: int,
    mask_pen: bool,
    per_sketch: bool = False,
) -> Tensor:
    """l_r = l_s + l_p: offset NLL over real points plus pen cross-entropy.

    target is stroke-5 [B, T, 5]; lengths [B] counts real rows. With mask_pen False (training)
    the pen term covers every row of target, end rows included, which teaches the model to stop:
    magenta's sketch_rnn pads to N_max, so there that is N_max rows a sketch (the Batcher does
    so with pen_loss_rows "padded"; by default it pads to the batch's longest sketch + 1). With
    mask_pen True it covers real rows only: this project's evaluation figures, chosen so they do
    not depend on padding. magenta's own validation masks nothing (its eval model is built with
    is_training=1); it masks the pen term only in inference mode.
    per_sketch returns [B] (each sketch's sum over N_max) instead of the batch mean.
    """
    steps = torch.arange(target.shape[1], device=target.device)  # [T]
    real = (steps.unsqueeze(0) < lengths.unsqueeze(1)).float()  # [B, T]
    l_s = -(offset_log_prob(params, target[..., :2]) * real)  # [B, T]
    pen_ce = F.cross_entropy(
        params.pen_logits.flatten(0, 1), target[..., 2:].argmax(-1).flatten(), reduction="none"
    ).view_as(real)  # [B, T]
    l_p = pen_ce * real if mask_pen else pen_ce  # [B, T]
    if per_sketch:
        return (l_s + l_p).sum(-1) / n_max  # [B]
    return (l_s.sum() + l_p.sum()) / (target.shape[0] * n_max)


def kl_to_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) averaged over batch and dimensions (l_z, l_a)."""
    return -0.5 * torch.mean(1.0 + logvar - mu**2 - torch.exp(logvar))


def kl_weight(step: int, weight: float, start: float, decay: float) -> float:
    """alpha(t) = alpha - (alpha - alpha_0) * decay ** t, magenta's KL annealing."""
    return weight - (weight - start) * decay**step


def raster_loss(logits: Tensor, target: Tensor) -> Tensor:
    """The CNN autoencoder's own reconstruction loss: per-pixel binary cross-entropy."""
    return F.binary_cross_entropy_with_logits(logits, target)


def total_loss(
    l_r: Tensor, l_kl: Tensor, alpha: float, eps: float, l_img: Tensor | None, img_weight: float
) -> Tensor:
    """loss = l_r + alpha * max(l_kl, eps) (+ the raster autoencoder's loss when present)."""
    loss = l_r + alpha * torch.clamp(l_kl, min=eps)
    if l_img is not None:
        loss = loss + img_weight * l_img
    return loss
