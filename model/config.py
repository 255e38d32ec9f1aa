"""Configuration: one frozen dataclass per concern, saved as JSON beside every checkpoint.

The published models are presets of one ModelConfig (see PRESETS): Sketch-RNN (Ha and Eck 2017)
as a VAE and as its decoder alone (the unconditional models Magenta publishes for sketch-rnn-js),
Sketch-pix2seq (Chen et al. 2017) and AI-Sketcher (Cao et al. 2019). Ablations are fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from wire.protocol import DEFAULT_TEMPERATURE, MAX_TEMPERATURE, MIN_TEMPERATURE

T = TypeVar("T")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and loss weights of one model; everything needed to rebuild the network."""

    preset: str = "ai-sketcher"  # name of the preset this config started from
    # stroke encoder: BiLSTM ("rnn"), CNN on the raster, or none: the decoder alone, from a zero
    # state (Sketch-RNN's unconditional mode; it can generate and continue, not encode). With
    # none and use_condition, the model is one such decoder a category (Sketch-RNN's models as
    # Magenta publishes them), and the category condition picks the decoder instead of being read
    encoder: Literal["rnn", "cnn", "none"] = "rnn"
    enc_rnn_size: int = 256  # BiLSTM units per direction
    dec_rnn_size: int = 512  # decoder LSTM units
    z_size: int = 128  # latent z_s (or pix2seq's z)
    num_mixture: int = 20  # Gaussian mixture components per step
    variational: bool = True  # z is sampled with a KL term (False: pix2seq's deterministic z)
    use_raster: bool = True  # CNN autoencoder branch z_r next to the BiLSTM
    raster_size: int = 48  # side of the rasterised sketch, pixels (divisible by 8)
    raster_z_size: int = 128  # z_r
    cnn_channels: tuple[int, int, int] = (16, 32, 64)  # the three stride-2 conv layers
    sketch_dropout: float = 0.3  # chance z_r and ad are zeroed in training (see docs/model.md)
    # chance a training sketch is drawn from the prior, z_s ~ N(0, I) with z_r = ad = 0, exactly
    # as "generate" draws; the decoder must then take what to draw from c alone
    prior_dropout: float = 0.0
    use_influence: bool = True  # influence layer: variational attention over all encoder states
    influence_size: int = 64  # size of the attention latent `ad`
    use_condition: bool = True  # one-hot condition c fed to the encoder head and the decoder
    condition_dim: int = 0  # length of c; set from the data's condition vocabulary
    layer_norm: bool = False  # layer-normalised decoder LSTM (slower: no cuDNN)
    recurrent_dropout: float = 0.0  # dropout on the decoder's cell input (Semeniuta et al.), 0..0.2
    # the decoder also reads where its pen is (the sum of the offsets so far, in model units), so
    # long drawings keep their parts in place instead of integrating the offsets' errors
    position_input: bool = False
    max_seq_len: int = 250  # N_max: longest sketch in points; l_r is normalised by it
    # Loss: l_r + alpha * max(l_kl, eps),  l_kl = l_z + beta * l_a
    kl_weight: float = 0.5  # alpha, reached by annealing
    kl_weight_start: float = 0.01  # alpha at step 0
    kl_decay_rate: float = 0.99995  # alpha(t) = alpha - (alpha - alpha_0) * rate ** t
    kl_tolerance: float = 0.2  # eps, the free-bits floor on l_kl (per latent dimension)
    influence_kl_weight: float = 0.01  # beta
    raster_loss_weight: float = 1.0  # weight of the CNN autoencoder's own reconstruction loss

    def __post_init__(self) -> None:
        if self.encoder not in ("rnn", "cnn", "none"):
            raise ValueError(f"encoder must be 'rnn', 'cnn' or 'none'; got {self.encoder!r}")
        if self.encoder == "none" and self.use_raster:
            raise ValueError("use_raster needs an encoder (encoder='rnn' or 'cnn')")

        if self.raster_size % 8:
            raise ValueError(f"raster_size must be divisible by 8; got {self.raster_size}")
        if self.use_influence and self.encoder != "rnn":
            raise ValueError("use_influence needs the BiLSTM encoder (encoder='rnn')")
        if not (
            0.0 <= self.recurrent_dropout < 1.0
            and 0.0 <= self.sketch_dropout <= 1.0
            and 0.0 <= self.prior_dropout <= 1.0
        ):
            raise ValueError("dropout probabilities must lie in [0, 1)")

    @property
    def decoders(self) -> int:
        """How many decoders: one a category value for a conditioned decoder-only model."""
        return self.condition_dim if self.encoder == "none" and self.use_condition else 1

    @property
    def condition_input(self) -> int:
        """Length of the condition the network reads: 0 without one, or when it only picks
        the decoder."""
        return self.condition_dim if self.use_condition and self.encoder != "none" else 0

    @property
    def needs_raster(self) -> bool:
        """True when any branch reads the rasterised sketch."""
        return self.encoder == "cnn" or self.use_raster


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (magenta's sketch_rnn hparams where they apply)."""

    steps: int = 10_000  # optimiser steps in all, counting resumed ones
    batch_size: int = 100
    learning_rate: float = 1e-3
    lr_decay: float = 0.9999  # lr(t) = (lr - min_lr) * decay ** t + min_lr
    min_learning_rate: float = 1e-5
    # the step the schedule starts again from: a warm restart for a resumed run whose rate has
    # decayed to its floor (lr(t) counts t from here; 0 is magenta's single decay)
    lr_restart_step: int = 0
    grad_clip: float = 1.0  # clip gradient norm
    augment_scale: float = 0.15  # random x/y stretch, as Sketch-RNN
    augment_drop: float = 0.10  # chance of dropping a pen-down point, as Sketch-RNN
    prefix_prob: float = 0.3  # chance the encoders see only the first strokes (for completion)
    # rows the training pen loss covers: "batch" pads each batch to its longest sketch + 1 and
    # trains the pen on every row of it (about 12 end rows a sketch on QuickDraw); "padded" pads
    # to N_max and trains it on all N_max rows, as magenta's sketch_rnn does (docs/experiments.md,
    # Data conventions)
    pen_loss_rows: Literal["batch", "padded"] = "batch"
    eval_every: int = 500  # steps between validation passes
    save_every: int = 500  # steps between checkpoints
    seed: int = 0
    amp: bool = True  # bf16 autocast on CUDA; ignored on the CPU
    # processes building batches beside training, so a GPU need not wait (0: in the training
    # process); each adds a CPU core's work and a copy of the data's memory
    loader_workers: int = 0
    # share of rows (identity-labelled data: the procedural faces) whose encoders read another
    # drawing of the same person, so that z learns who it is and the conditions what (issue 30)
    cross_reconstruction: float = 0.0

    def __post_init__(self) -> None:
        if self.lr_restart_step < 0:
            raise ValueError(f"lr_restart_step must be 0 or more; got {self.lr_restart_step}")
        if self.loader_workers < 0:
            raise ValueError(f"loader_workers must be 0 or more; got {self.loader_workers}")
        if not 0.0 <= self.cross_reconstruction <= 1.0:
            raise ValueError(
                f"cross_reconstruction must be between 0 and 1; got {self.cross_reconstruction}"
            )
        if self.pen_loss_rows not in ("batch", "padded"):
            raise ValueError(
                f"pen_loss_rows must be 'batch' or 'padded'; got {self.pen_loss_rows!r}"
            )


PRESETS: dict[str, ModelConfig] = {
    "sketch-rnn": ModelConfig(
        preset="sketch-rnn",
        encoder="rnn",
        variational=True,
        use_raster=False,
        use_influence=False,
        use_condition=False,
    ),
    "sketch-pix2seq": ModelConfig(
        preset="sketch-pix2seq",
        encoder="cnn",
        variational=False,
        use_raster=False,
        use_influence=False,
        use_condition=False,
    ),
    "ai-sketcher": ModelConfig(preset="ai-sketcher"),
    # Sketch-RNN's decoder alone, trained on one category (python -m lab.import_sketchrnn)
    "sketch-rnn-decoder": ModelConfig(
        preset="sketch-rnn-decoder",
        encoder="none",
        variational=False,
        use_raster=False,
        use_influence=False,
        use_condition=False,
        z_size=0,
        influence_size=0,
    ),
}

# Small sizes that train in minutes on a 2-core CPU; used by tests and the default checkpoint.
SMALL = dict(
    enc_rnn_size=64,
    dec_rnn_size=128,
    z_size=32,
    raster_z_size=32,
    influence_size=16,
    num_mixture=10,
    cnn_channels=(8, 16, 32),
    raster_size=32,
)


def preset(name: str, small: bool = False, **overrides: Any) -> ModelConfig:
    """The named preset, optionally shrunk for CPU training, with field overrides."""
    if name not in PRESETS:
        raise ValueError(f"unknown config {name!r}; choose one of {', '.join(PRESETS)}")
    cfg = PRESETS[name]
    if small:
        cfg = dataclasses.replace(cfg, **SMALL)
    return dataclasses.replace(cfg, **overrides)


TEMPERATURES = (MIN_TEMPERATURE, MAX_TEMPERATURE)  # the useful range: safe .. wild


@dataclass(frozen=True)
class SampleConfig:
    """How a trained model is best sampled, measured per model (docs/models.md); the server
    lists it in the welcome so that the add-ons start their Variety slider there."""

    temperature: float = DEFAULT_TEMPERATURE  # the default Variety

    def __post_init__(self) -> None:
        low, high = TEMPERATURES
        if not low <= self.temperature <= high:
            raise ValueError(f"temperature must be in {low}..{high}; got {self.temperature}")


def to_dict(cfg: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass."""
    return dataclasses.asdict(cfg)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a config dataclass from JSON, refusing unknown fields so typos are caught."""
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValueError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**values)


__all__ = ["ModelConfig", "TrainConfig", "PRESETS", "SMALL", "preset", "to_dict", "from_dict"]
