"""The AI-Sketcher network (Cao et al., AAAI 2019) and its baselines, as nn.Modules only.

One code path, switched by ModelConfig:
  sketch-rnn      BiLSTM -> z_s (VAE)                      -> LSTM decoder -> mixture
  sketch-rnn-decoder  no encoder: the LSTM decoder alone, from a zero state (Sketch-RNN's
                  unconditional models; with conditions, one a category, picked by c)
  sketch-pix2seq  CNN on the raster -> z (no KL)           -> LSTM decoder -> mixture
  ai-sketcher     BiLSTM + condition c -> z_s (VAE); CNN autoencoder -> z_r; influence layer
                  (variational attention over all BiLSTM states) -> ad;
                  decoder input [z_s; z_r; ad; c; previous point]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from . import losses
from .config import ModelConfig
from .mixture import MixtureHead, MixtureParams

POINT_WIDTH = 5  # a stroke-5 row: dx, dy, p_down, p_up, p_end


@dataclass
class Inputs:
    """What the network reads; built by lab.data.Batch or by the sampler."""

    strokes: Tensor  # [B, T+1, 5] stroke-5 with the start token at 0, normalised
    lengths: Tensor  # [B] real rows after the start token
    conditions: Tensor  # [B, C] one-hot conditions (C may be 0)
    raster: Tensor | None = None  # [B, 1, R, R] the encoder's sketch as an image
    enc_lengths: Tensor | None = None  # [B] rows the encoders see (a prefix); default lengths
    # Another drawing for the encoders to read instead (cross-reconstruction: the same person in
    # other conditions, so that z learns who and the conditions what); None: this one.
    source: Inputs | None = None


@dataclass
class Latents:
    """The encoder's output: the decoder's conditioning vector and the KL terms."""

    z: Tensor  # [B, D] = [z_s; z_r; ad; c]
    l_z: Tensor  # scalar KL of z_s (0 when not variational)
    l_a: Tensor  # scalar KL of ad (0 without the influence layer)
    raster_logits: Tensor | None  # [B, 1, R, R] the CNN autoencoder's reconstruction


@dataclass
class LossTerms:
    """Every term of the objective for one batch (scalars)."""

    loss: Tensor
    l_r: Tensor
    l_kl: Tensor  # l_z + beta * l_a
    l_z: Tensor
    l_a: Tensor
    l_img: Tensor


class StrokeEncoder(nn.Module):
    """Bidirectional LSTM over stroke-5 rows; returns every hidden state and the final pair."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(5, hidden, batch_first=True, bidirectional=True)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        packed = pack_padded_sequence(
            x, lengths.cpu().clamp(min=1), batch_first=True, enforce_sorted=False
        )
        out, (h_n, _) = self.rnn(packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        h_enc = torch.cat([h_n[0], h_n[1]], dim=-1)  # [B, 2H] forward end, backward start
        return states, h_enc  # [B, T, 2H], [B, 2H]


def _conv_stack(
    layer: type[nn.Conv2d] | type[nn.ConvTranspose2d],
    widths: list[tuple[int, int]],
    relu_first: bool,
) -> nn.Sequential:
    """Six (de)convolutions, each paired with a ReLU: the first three 4x4 stride 2 (each halves
    or doubles the side), the last three 3x3 stride 1. The order of the pairs keeps the
    checkpoints' parameter names (conv.0, conv.2, ... / deconv.1, deconv.3, ...)."""
    mods: list[nn.Module] = []
    for i, (cin, cout) in enumerate(widths):
        conv = layer(cin, cout, 4, 2, 1) if i < 3 else layer(cin, cout, 3, 1, 1)
        mods += [nn.ReLU(), conv] if relu_first else [conv, nn.ReLU()]
    return nn.Sequential(*mods)


class RasterEncoder(nn.Module):
    """Three stride-2 then three stride-1 convolutions, ReLU, a normalised tanh layer to z_r."""

    def __init__(self, size: int, channels: tuple[int, int, int], out: int) -> None:
        super().__init__()
        c1, c2, c3 = channels
        widths = [(1, c1), (c1, c2), (c2, c3), (c3, c3), (c3, c3), (c3, c3)]
        self.conv = _conv_stack(nn.Conv2d, widths, relu_first=False)
        self.fc = nn.Linear(c3 * (size // 8) ** 2, out)
        self.norm = nn.LayerNorm(out)  # keeps tanh out of saturation, where z_r stops learning

    def forward(self, image: Tensor) -> Tensor:
        return torch.tanh(self.norm(self.fc(self.conv(image).flatten(1))))  # [B, out]


class RasterDecoder(nn.Module):
    """Mirror of RasterEncoder: three stride-2 then three stride-1 deconvolutions to logits."""

    def __init__(self, size: int, channels: tuple[int, int, int], z: int) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.side, self.c3 = size // 8, c3
        self.fc = nn.Linear(z, c3 * self.side**2)
        widths = [(c3, c2), (c2, c1), (c1, c1), (c1, c1), (c1, c1), (c1, 1)]
        self.deconv = _conv_stack(nn.ConvTranspose2d, widths, relu_first=True)

    def forward(self, z_r: Tensor) -> Tensor:
        x = self.fc(z_r).view(-1, self.c3, self.side, self.side)
        return self.deconv(x)  # [B, 1, R, R] logits


class InfluenceLayer(nn.Module):
    """Variational attention over ALL encoder states: context -> (mu_a, sigma_a) -> ad.

    Additive attention scores each BiLSTM state against the query h_c (encoder summary plus
    condition), so the layer picks the strokes that matter for what is being drawn.
    """

    def __init__(self, state_size: int, query_size: int, out: int) -> None:
        super().__init__()
        self.w_state = nn.Linear(state_size, state_size, bias=False)
        self.w_query = nn.Linear(query_size, state_size)
        self.v = nn.Linear(state_size, 1, bias=False)
        self.head = nn.Linear(state_size, 2 * out)

    def forward(self, states: Tensor, lengths: Tensor, query: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.v(torch.tanh(self.w_state(states) + self.w_query(query).unsqueeze(1)))
        steps = torch.arange(states.shape[1], device=states.device)
        pad = steps.unsqueeze(0) >= lengths.unsqueeze(1)  # [B, T]
        scores = scores.squeeze(-1).masked_fill(pad, float("-inf"))  # [B, T]
        weights = torch.softmax(scores, dim=-1)  # [B, T]
        context = torch.einsum("bt,bth->bh", weights, states)  # [B, 2H]
        mu_a, logvar_a = self.head(context).chunk(2, dim=-1)  # [B, A] each
        return mu_a, logvar_a


class LayerNormLSTMCell(nn.Module):
    """LSTM cell with layer norm on the gates and recurrent dropout on the candidate."""

    def __init__(self, input_size: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.ih = nn.Linear(input_size, 4 * hidden, bias=False)
        self.hh = nn.Linear(hidden, 4 * hidden, bias=True)
        self.ln_gates = nn.LayerNorm(4 * hidden)
        self.ln_cell = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        h, c = state
        i, f, g, o = self.ln_gates(self.ih(x) + self.hh(h)).chunk(4, dim=-1)
        c = torch.sigmoid(f + 1.0) * c + torch.sigmoid(i) * self.dropout(torch.tanh(g))
        h = torch.sigmoid(o) * torch.tanh(self.ln_cell(c))
        return h, c


class Decoder(nn.Module):
    """LSTM decoder reading [previous point; z] and emitting mixture parameters."""

    def __init__(self, cfg: ModelConfig, z_dim: int) -> None:
        super().__init__()
        self.hidden = cfg.dec_rnn_size
        # A decoder with no encoder starts from a zero state, as Sketch-RNN's unconditional one.
        self.init = nn.Linear(z_dim, 2 * cfg.dec_rnn_size) if cfg.encoder != "none" else None
        self.fused = not (cfg.layer_norm or cfg.recurrent_dropout > 0)
        self.positional = cfg.position_input
        self.point = POINT_WIDTH + (2 if self.positional else 0)  # a step's input before z
        if self.fused:  # cuDNN on a GPU for teacher forcing
            self.rnn: nn.Module = nn.LSTM(self.point + z_dim, cfg.dec_rnn_size, batch_first=True)
        else:
            self.rnn = LayerNormLSTMCell(
                self.point + z_dim, cfg.dec_rnn_size, cfg.recurrent_dropout
            )
        self.head = MixtureHead(cfg.dec_rnn_size, cfg.num_mixture)

    def initial_state(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """h_0, c_0 = tanh(W z + b), magenta's initial state from the latent (zeros for a
        decoder without an encoder). Each [B, H]."""
        if self.init is None:
            zeros = z.new_zeros(z.shape[0], self.hidden)
            return zeros, zeros.clone()
        h, c = torch.tanh(self.init(z)).chunk(2, dim=-1)
        return h.contiguous(), c.contiguous()

    def run(
        self,
        points: Tensor,
        z: Tensor,
        state: tuple[Tensor, Tensor],
        origin: Tensor | None = None,
    ) -> tuple[MixtureParams, tuple[Tensor, Tensor]]:
        """Decode a whole sequence (teacher forcing) or one step: points [B, T, 5], z [B, D].

        A positional decoder reads beside each point the pen's position after it: origin [B, 2]
        (where the pen was before points[:, 0]; zeros at the start of a sketch) plus the offsets.
        """
        if self.positional:
            pos = points[..., :2].cumsum(1)
            points = torch.cat([points, pos if origin is None else pos + origin[:, None]], -1)
        x = torch.cat([points, z.unsqueeze(1).expand(-1, points.shape[1], -1)], dim=-1)
        if self.fused:
            h0, c0 = state
            out, (h, c) = self.rnn(x, (h0.unsqueeze(0), c0.unsqueeze(0)))
            return self.head(out), (h[0], c[0])
        outs = []
        for t in range(x.shape[1]):
            state = self.rnn(x[:, t], state)
            outs.append(state[0])
        return self.head(torch.stack(outs, dim=1)), state


class SketchModel(nn.Module):
    """Encoder(s), latent heads and decoder, configured by a ModelConfig."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        cond = cfg.condition_input
        # A decoder-only model with conditions is one decoder a category, picked by c.
        self.bank = cfg.encoder == "none" and cfg.use_condition
        if cfg.encoder == "none":  # the decoder alone, from a zero state: z is empty
            self.z_dim = 0
            if self.bank:
                self.decoders = nn.ModuleList(Decoder(cfg, 0) for _ in range(cfg.decoders))
            else:
                self.decoder = Decoder(cfg, 0)
            return
        if cfg.encoder == "rnn":
            self.stroke_encoder = StrokeEncoder(cfg.enc_rnn_size)
            h_enc = 2 * cfg.enc_rnn_size
        else:
            h_enc = cfg.raster_z_size
        if cfg.needs_raster:
            self.raster_encoder = RasterEncoder(
                cfg.raster_size, cfg.cnn_channels, cfg.raster_z_size
            )
        if cfg.use_raster:
            self.raster_decoder = RasterDecoder(
                cfg.raster_size, cfg.cnn_channels, cfg.raster_z_size
            )
        self.latent = nn.Linear(h_enc + cond, (2 if cfg.variational else 1) * cfg.z_size)
        if cfg.use_influence:
            self.influence = InfluenceLayer(2 * cfg.enc_rnn_size, h_enc + cond, cfg.influence_size)
        self.z_dim = (
            cfg.z_size
            + (cfg.raster_z_size if cfg.use_raster else 0)
            + (cfg.influence_size if cfg.use_influence else 0)
            + cond
        )
        self.decoder = Decoder(cfg, self.z_dim)

    @property
    def cond_dim(self) -> int:
        """Length of the condition in z (0 when it only picks the decoder)."""
        return self.cfg.condition_input

    def decoder_for(self, index: int) -> Decoder:
        """The decoder that draws category `index` (the one decoder unless there are several)."""
        return self.decoders[index] if self.bank else self.decoder  # type: ignore[return-value]

    def decoder_indices(self, conditions: Tensor) -> Tensor:
        """Which decoder draws each row [B]: the category's index, or 0 for a single decoder."""
        if not self.bank:
            return conditions.new_zeros(conditions.shape[0], dtype=torch.long)
        c = conditions[:, : self.cfg.decoders]
        if (c.sum(-1) != 1).any():
            raise ValueError("a model with a decoder a category needs each sketch's category")
        return c.argmax(-1)

    def teacher_force(self, strokes: Tensor, z: Tensor, conditions: Tensor) -> MixtureParams:
        """The mixture after each input row: strokes [B, T, 5] (start token first), each row
        read by its category's decoder from the initial state of z [B, D]."""
        if not self.bank:
            return self.decoder.run(strokes, z, self.decoder.initial_state(z))[0]
        index = self.decoder_indices(conditions)
        parts: list[tuple[Tensor, MixtureParams]] = []
        for k in index.unique().tolist():
            rows = (index == k).nonzero().squeeze(1)
            dec = self.decoders[k]
            parts.append((rows, dec.run(strokes[rows], z[rows], dec.initial_state(z[rows]))[0]))
        order = torch.cat([rows for rows, _ in parts]).argsort()
        return MixtureParams(*(torch.cat(ts)[order] for ts in zip(*(p for _, p in parts))))

    def encode(
        self, inp: Inputs, sample: bool, noise: Tensor | None = None, reconstruct: bool = False
    ) -> Latents:
        """Encode sketches to the decoder's z = [z_s; z_r; ad; c].

        sample False uses the means (deterministic refine); noise [B, z_size + influence_size]
        lets the sampler supply per-sketch random numbers; reconstruct adds the CNN
        autoencoder's reconstruction of the raster (for its loss: drawing never needs it).
        """
        cfg, batch = self.cfg, inp.strokes.shape[0]
        zero = inp.strokes.new_zeros(())
        c = inp.conditions[:, : self.cond_dim]  # [B, C]: the drawing to make, not the source's
        inp = inp.source if inp.source is not None else inp
        lengths = inp.enc_lengths if inp.enc_lengths is not None else inp.lengths
        if cfg.encoder == "none":  # nothing to encode: the decoder reads the condition alone
            return Latents(c, zero, zero, None)
        if cfg.needs_raster and inp.raster is None:
            raise ValueError(f"the {cfg.preset} model needs batch.raster (raster_size > 0)")
        f_r = self.raster_encoder(inp.raster) if cfg.needs_raster else None  # [B, R]
        if cfg.encoder == "rnn":
            states, h_enc = self.stroke_encoder(inp.strokes[:, 1:], lengths)
        else:
            states, h_enc = None, f_r
        h_c = torch.cat([h_enc, c], dim=-1)  # [B, H + C]
        if noise is None:
            noise = torch.randn(batch, cfg.z_size + cfg.influence_size, device=h_c.device)
        parts, l_z, l_a = [], zero, zero
        if cfg.variational:
            mu_s, logvar_s = self.latent(h_c).chunk(2, dim=-1)  # [B, Z] each
            z_s = mu_s + torch.exp(0.5 * logvar_s) * noise[:, : cfg.z_size] if sample else mu_s
            l_z = losses.kl_to_standard_normal(mu_s, logvar_s)
        else:
            z_s = self.latent(h_c)
        # z_r and ad describe the given sketch; zeroing both at times teaches the decoder to
        # draw from z_s and c alone, which is what "generate" gives it.
        keep = None
        if self.training and cfg.sketch_dropout > 0:
            keep = (torch.rand(batch, 1, device=h_c.device) >= cfg.sketch_dropout).float()
        if self.training and cfg.variational and cfg.prior_dropout > 0:
            # Rows drawn from the prior see nothing of their sketch, so c must say what to draw.
            prior = torch.rand(batch, 1, device=h_c.device) < cfg.prior_dropout
            z_s = torch.where(prior, torch.randn_like(z_s), z_s)
            keep = (~prior).float() if keep is None else keep * (~prior).float()
        parts.append(z_s)
        raster_logits = None
        if cfg.use_raster:
            if reconstruct:
                raster_logits = self.raster_decoder(f_r)
            parts.append(f_r if keep is None else f_r * keep)  # z_r
        if cfg.use_influence:
            mu_a, logvar_a = self.influence(states, lengths, h_c)
            lam = noise[:, cfg.z_size : cfg.z_size + cfg.influence_size]
            ad = mu_a + torch.exp(0.5 * logvar_a) * lam if sample else mu_a
            parts.append(ad if keep is None else ad * keep)
            l_a = losses.kl_to_standard_normal(mu_a, logvar_a)
        parts.append(c)
        return Latents(torch.cat(parts, dim=-1), l_z, l_a, raster_logits)

    def prior_z(self, conditions: Tensor, noise: Tensor) -> Tensor:
        """z for drawing from conditions alone: z_s ~ N(0, I); z_r = ad = 0 (no sketch to see)."""
        cfg = self.cfg
        if cfg.encoder == "none":
            return conditions[:, : self.cond_dim]
        parts = [noise[:, : cfg.z_size]]
        if cfg.use_raster:
            parts.append(noise.new_zeros(noise.shape[0], cfg.raster_z_size))
        if cfg.use_influence:
            parts.append(noise.new_zeros(noise.shape[0], cfg.influence_size))
        parts.append(conditions[:, : self.cond_dim])
        return torch.cat(parts, dim=-1)

    def forward(self, inp: Inputs, alpha: float, mask_pen: bool = False) -> LossTerms:
        """Teacher-forced pass; returns every loss term (alpha is the annealed KL weight)."""
        cfg = self.cfg
        lat = self.encode(inp, sample=self.training, reconstruct=True)
        params = self.teacher_force(inp.strokes[:, :-1], lat.z, inp.conditions)  # [B, T, ...]
        l_r = losses.reconstruction_loss(
            params, inp.strokes[:, 1:], inp.lengths, cfg.max_seq_len, mask_pen
        )
        l_kl = lat.l_z + cfg.influence_kl_weight * lat.l_a  # l_kl = l_z + beta * l_a
        seen = inp.source if inp.source is not None else inp  # what the raster encoder read
        l_img = (
            losses.raster_loss(lat.raster_logits, seen.raster)
            if lat.raster_logits is not None
            else l_r.new_zeros(())
        )
        if cfg.variational and cfg.encoder != "none":
            loss = losses.total_loss(
                l_r,
                l_kl,
                alpha,
                cfg.kl_tolerance,
                l_img if cfg.use_raster else None,
                cfg.raster_loss_weight,
            )
        else:
            loss = l_r + (cfg.raster_loss_weight * l_img if cfg.use_raster else 0.0)
        return LossTerms(loss, l_r, l_kl, lat.l_z, lat.l_a, l_img)
