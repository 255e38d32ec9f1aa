"""Which torch device to run on: one reading of "auto", "cpu", "cuda" and "cuda:N" for training
and serving alike."""

from __future__ import annotations

import torch


class DeviceError(ValueError):
    """A device that is not there or not supported; the message says what to use instead."""


def resolve_device(spec: str) -> torch.device:
    """The torch device for a --device value: "auto" is CUDA when available, else the CPU."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise DeviceError(
            f"device {spec!r} is not a torch device; use auto, cpu, cuda or cuda:N"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {spec!r} was asked for, but this torch has no working "
                "CUDA; use --device cpu (or auto)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {spec!r} does not exist; this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    elif device.type != "cpu":
        raise DeviceError(f"device {spec!r} is not supported; use auto, cpu, cuda or cuda:N")
    return device


def device_label(device: torch.device) -> str:
    """How a device is named to people, e.g. "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3)"."""
    if device.type != "cuda":
        return device.type
    index = torch.cuda.current_device() if device.index is None else device.index
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
