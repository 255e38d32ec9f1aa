"""Start a new model from another checkpoint's weights: pretrain on every stroke set whose licence
allows shipping, then fine-tune on the model's own data (`lab.train --init-from DIR`).

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

from model.network import SketchModel

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
# A fused decoder's weights by hidden-unit blocks: (row blocks, whether its columns are units).
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
    copied = sum(t.numel() for t in theirs.values())  # less the condition's, where fresh
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
        if name in DECODER_INPUTS and extra_columns:
            point = source.decoder.point
            fresh = src.new_zeros(src.shape[0], extra_columns)
            src = torch.cat([src[:, :point], fresh, src[:, point:]], 1)
        rows, cols = slice(None), slice(None)  # where src goes in dst
        if wide != narrow and name in HIDDEN_BLOCKS:
            blocks, unit_columns = HIDDEN_BLOCKS[name]
            if blocks:
                rows = _old_units(blocks, narrow, wide)
            if unit_columns:  # nothing reads a new unit until training teaches it to
                dst[:, narrow:] = 0.0
                cols = slice(0, narrow)
        if name in CONDITION_INPUTS and not (conditions and src.shape[1] == dst.shape[1]):
            keep_src = src.shape[1] - source.cond_dim
            keep_dst = dst.shape[1] - target.cond_dim
            if src.shape[0] != dst[rows].shape[0] or keep_src != keep_dst:
                raise TransferError(_mismatch(name, src, dst, " (apart from the condition)"))
            dst[rows, :keep_dst] = src[:, :keep_src]
            copied -= theirs[name].shape[0] * source.cond_dim
        else:
            at = (rows, cols) if dst.dim() > 1 else rows
            if src.shape != dst[at].shape:
                raise TransferError(_mismatch(name, src, dst, ""))
            dst[at] = src
    return copied


def _old_units(blocks: int, narrow: int, wide: int) -> torch.Tensor:
    """The rows of a wider decoder's weight that hold a narrower one's: the first `narrow` of
    each of its `blocks` blocks of `wide` rows (the new units' rows keep their fresh values)."""
    return torch.cat([torch.arange(k * wide, k * wide + narrow) for k in range(blocks)])


def _mismatch(name: str, src: torch.Tensor, dst: torch.Tensor, note: str) -> str:
    return (
        f"{name} is {tuple(src.shape)} in the source and {tuple(dst.shape)} here{note}: "
        "a different network; train the same --config and --small as the source"
    )
