"""Characters: who a drawn sketch is, as a value a client keeps and sends back.

A character is the decoder's whole latent z = [z_s; z_r; ad; c] of one drawing, as float16 in the
wire's character format (wire.protocol.character_text), tagged with the id of the model that made
it: a z means nothing to another model, or to the same model after retraining. Sent back with a
request, its identity part (z without c) replaces the latent the model would draw from, and its c
fills in the conditions the request leaves out; the conditions the request gives win. That is how
the same face comes back sad, or turned left.
"""

from __future__ import annotations

import weakref
import zlib
from collections.abc import Mapping

import numpy as np

from wire.protocol import character_parts, character_text

from .checkpoint import Checkpoint

_IDS: weakref.WeakKeyDictionary[object, bytes] = weakref.WeakKeyDictionary()


class CharacterError(ValueError):
    """A character this model cannot use; the message says why and what to do."""


def has_characters(ckpt: Checkpoint) -> bool:
    """A model has characters when its z holds more than the condition: it has an encoder."""
    return ckpt.model.z_dim > ckpt.model.cond_dim


def model_id(ckpt: Checkpoint) -> bytes:
    """4 bytes that change with the weights: the CRC-32 of every parameter, in name order."""
    found = _IDS.get(ckpt.model)
    if found is None:
        crc = 0
        for name, tensor in sorted(ckpt.model.state_dict().items()):
            crc = zlib.crc32(name.encode(), crc)
            crc = zlib.crc32(tensor.detach().float().cpu().contiguous().numpy().tobytes(), crc)
        found = _IDS[ckpt.model] = crc.to_bytes(4, "little")
    return found


def encode(ckpt: Checkpoint, z: np.ndarray) -> str:
    """The character of one drawing's full latent z (z_dim,), as the wire carries it."""
    if not has_characters(ckpt):
        return ""
    values = np.asarray(z, dtype="<f2")
    return character_text(model_id(ckpt), values.tobytes())


def decode(ckpt: Checkpoint, text: str) -> tuple[np.ndarray, dict[str, str]]:
    """A wire-checked character's identity (z without c, float32) and the conditions it was
    drawn under; CharacterError when it is not this model's."""
    name = ckpt.meta.get("name") or "this model"
    if not has_characters(ckpt):
        raise CharacterError(
            f"{name} keeps no characters (it has no latent beyond its conditions); "
            "leave character out"
        )
    made_by, halves = character_parts(text)
    z = np.frombuffer(halves, dtype="<f2").astype(np.float32)
    if made_by != model_id(ckpt) or len(z) != ckpt.model.z_dim:
        raise CharacterError(
            "character was made by another model (or another version of this one); "
            "keep a new character from this model's suggestions"
        )
    cond = ckpt.model.cond_dim
    identity, c = z[: len(z) - cond], z[len(z) - cond :]
    return identity, ckpt.vocab.decode(c) if cond == ckpt.vocab.dim else {}


def conditions_with(kept: Mapping[str, str], given: Mapping[str, str]) -> dict[str, str]:
    """The conditions to draw a character under: the request's, and the character's own for
    every condition the request leaves out."""
    return {**kept, **{k: v for k, v in given.items() if v}}
