"""Start a new model from another checkpoint's weights: pretrain on every stroke set whose licence
allows shipping, then fine-tune on the model's own data (`model.train --init-from DIR`).

The two models may have different conditions (another vocabulary, or none). The condition is
always the last input columns of the four layers that read it, so those columns start afresh
(or are copied, when both models have the same vocabulary) and every other weight is copied.
A positional decoder (ModelConfig.position_input) may start from one that is not: its two
position columns start at zero, so it begins drawing exactly as the source does. A wider LSTM
decoder (ModelConfig.dec_rnn_size) may start from a narrower one: its old units keep their
weights and the new ones write nothing at first (zero outgoing weights), so it too begins drawing
exactly as the source. Anything else that differs is a different network, an error.
"""

from __future__ import annotations

import torch

from .network import SketchModel

# Layers whose input ends with the condition one-hot: the latent head and the influence layer's
# query read [h_enc; c], the decoder's initial state and its LSTM read [..., z_s, z_r, ad, c].
CONDITION_INPUTS = (
    "latent.weight",
    "influence.w_query.weight",
    "decoder.init.weight",
    "decoder.rnn.weight_ih_l0",  # fused decoder
    "decoder.rnn.ih.weight",  # layer-norm decoder
)
DECODER_INPUTS = CONDITION_INPUTS[-2:]  # [point; position, if read; z_s, z_r, ad, c]
# A fused decoder's weights by hidden-unit blocks: (row blocks, whether columns are units).
# PyTorch orders the LSTM's rows as gates i, f, g, o; the initial state's as h, c.
HIDDEN_BLOCKS = {
    "decoder.init.weight": (2, False),
    "decoder.init.bias": (2, False),
    "decoder.rnn.weight_ih_l0": (4, False),
    "decoder.rnn.weight_hh_l0": (4, True),
    "decoder.rnn.bias_ih_l0": (4, False),
    "decoder.rnn.bias_hh_l0": (4, False),
    "decoder.head.proj.weight": (0, True),
}


class TransferError(ValueError):
    """The source checkpoint's network does not fit the one being trained."""


@torch.no_grad()
def copy_weights(target: SketchModel, source: SketchModel, conditions: bool = False) -> int:
    """Copy source's weights into target, the condition's columns only when `conditions` (the
    same vocabulary); returns the number of values copied. Raises TransferError naming the
    first weight that does not fit."""
    theirs = source.state_dict()
    mine = target.state_dict()
    missing = sorted(set(mine) - set(theirs))
    extra = sorted(set(theirs) - set(mine))
    if missing or extra:
        name = (missing or extra)[0]
        where = "the source lacks" if missing else "the model being trained lacks"
        raise TransferError(
            f"{where} {name}: a different network (preset, layer norm or sizes); "
            "train the same --config and --small as the source"
        )
    copied = 0
    narrow, wide = source.decoder.hidden, target.decoder.hidden
    if wide != narrow and not (wide > narrow and source.decoder.fused and target.decoder.fused):
        raise TransferError(
            f"the source's decoder has {narrow} units and this one {wide}: a decoder may only "
            "grow, and only without layer norm or recurrent dropout"
        )
    extra_columns = target.decoder.point - source.decoder.point
    if extra_columns < 0:
        raise TransferError(
            "the source's decoder reads the pen position and this one does not: "
            "train with --set position_input=true"
        )
    for name, dst in mine.items():
        src = theirs[name]
        if wide != narrow and name in HIDDEN_BLOCKS:
            src = _widened(src, dst, narrow, wide, *HIDDEN_BLOCKS[name])
            copied -= dst.numel() - theirs[name].numel()
        if name in DECODER_INPUTS and extra_columns:
            point = source.decoder.point
            fresh = src.new_zeros(src.shape[0], extra_columns)
            src = torch.cat([src[:, :point], fresh, src[:, point:]], 1)
            copied -= fresh.numel()
        if name in CONDITION_INPUTS and not (conditions and src.shape == dst.shape):
            keep_src = src.shape[1] - source.cond_dim
            keep_dst = dst.shape[1] - target.cond_dim
            if src.shape[0] != dst.shape[0] or keep_src != keep_dst:
                raise TransferError(_mismatch(name, src, dst, " (apart from the condition)"))
            dst[:, :keep_dst] = src[:, :keep_src]
            copied += dst[:, :keep_dst].numel()
        else:
            if src.shape != dst.shape:
                raise TransferError(_mismatch(name, src, dst, ""))
            dst.copy_(src)
            copied += dst.numel()
    return copied


def _widened(
    src: torch.Tensor, dst: torch.Tensor, narrow: int, wide: int, blocks: int, unit_columns: bool
) -> torch.Tensor:
    """src laid out in a wider decoder's shape: each block of `narrow` rows at the start of its
    block of `wide` rows (the new units' rows keep dst's fresh values), and zero in every new
    unit's column, so nothing reads a new unit until training teaches it to."""
    out = dst.clone()
    old = (
        torch.cat([torch.arange(k * wide, k * wide + narrow) for k in range(blocks)])
        if blocks
        else slice(None)
    )
    if unit_columns:
        out[..., narrow:] = 0.0
        out[old, :narrow] = src
    else:
        out[old] = src
    return out


def _mismatch(name: str, src: torch.Tensor, dst: torch.Tensor, note: str) -> str:
    return (
        f"{name} is {tuple(src.shape)} in the source and {tuple(dst.shape)} here{note}: "
        "a different network; train the same --config and --small as the source"
    )
