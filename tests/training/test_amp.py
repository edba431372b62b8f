"""Mixed precision for training: bf16 / fp16 autocast, fp16 loss scaling, the config's checks."""

from __future__ import annotations

import pytest
import torch

from emopillars.training import TrainConfig
from emopillars.training.amp import Amp

CPU = torch.device("cpu")


def test_choose_names_and_refuses_both():
    assert Amp.choose(CPU, False, False).name == "fp32" and Amp.choose(CPU, False, False).scaler is None
    assert Amp.choose(CPU, True, False).name == "bf16" and Amp.choose(CPU, True, False).scaler is None
    fp16 = Amp.choose(CPU, False, True)
    assert fp16.name == "fp16" and fp16.scaler is not None
    with pytest.raises(ValueError, match="not both"):
        Amp.choose(CPU, True, True)
    with pytest.raises(ValueError, match="not both"):
        TrainConfig(bf16=True, fp16=True)
    assert TrainConfig(fp16=True, gradient_checkpointing=True).fp16  # bf16 'auto' gives way to fp16


def test_fp16_autocast_runs_in_half_and_the_scaler_steps():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    amp = Amp.choose(CPU, False, True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.weight.detach().clone()
    with amp.autocast():
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.float16
    amp.backward(out.float().pow(2).mean())
    assert amp.step(optimizer, model.parameters(), max_grad_norm=1.0)
    assert not torch.equal(before, model.weight)


def test_fp16_overflow_skips_the_step_and_lowers_the_scale():
    model = torch.nn.Linear(2, 1)
    amp = Amp.choose(CPU, False, True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before, scale = model.weight.detach().clone(), amp.scaler.get_scale()
    amp.backward((model(torch.ones(1, 2)) * float("inf")).sum())
    assert not amp.step(optimizer, model.parameters(), max_grad_norm=0)
    assert torch.equal(before, model.weight) and amp.scaler.get_scale() < scale
    state = amp.state_dict()
    restored = Amp.choose(CPU, False, True)
    restored.load_state_dict(state)
    assert restored.scaler.get_scale() == amp.scaler.get_scale()
