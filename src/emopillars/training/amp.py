"""Mixed precision for training: bf16 or fp16 autocast, with the loss scaler fp16 needs.

bf16 keeps fp32's exponent range, so it needs no loss scaling; fp16 does (small gradients underflow), so
fp16 training runs the backward pass through ``torch.amp.GradScaler`` and skips the optimizer steps whose
gradients overflowed. fp16 is for GPUs without bf16 (before Ampere); on a CPU both are emulated where the
CPU lacks native support and run slower than fp32 (see :mod:`emopillars.inference.precision`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch


@dataclass
class Amp:
    """The autocast dtype (``None``: fp32) and, for fp16, the gradient scaler."""

    device: torch.device
    dtype: torch.dtype | None = None
    scaler: torch.amp.GradScaler | None = None

    @classmethod
    def choose(cls, device: torch.device, bf16: bool, fp16: bool) -> Amp:
        if bf16 and fp16:
            raise ValueError("choose bf16 or fp16, not both")
        if fp16:
            return cls(device, torch.float16, torch.amp.GradScaler(device.type))
        return cls(device, torch.bfloat16 if bf16 else None)

    @property
    def name(self) -> str:
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer, parameters, max_grad_norm: float) -> bool:
        """Clip and step; returns False when fp16 gradients overflowed and the step was skipped."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)
        if max_grad_norm:
            torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm)
        if self.scaler is None:
            optimizer.step()
            return True
        scale = self.scaler.get_scale()
        self.scaler.step(optimizer)
        self.scaler.update()
        return self.scaler.get_scale() >= scale

    def state_dict(self) -> dict:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
