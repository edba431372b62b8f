"""bf16 only where the hardware computes it natively: "auto" for training and inference alike.

Why: bf16 autocast is a large win where the hardware has bf16 arithmetic (CUDA GPUs from Ampere on; CPUs with
AVX512-BF16 or AMX) and a large loss where it does not: on an AMD EPYC with AVX2 only, the predictor ran
3.6x *slower* with bf16 (10 vs 38 examples/s) because every bf16 op is emulated. So the default is ``"auto"``:
on with CUDA bf16 support, on a CPU only when ``/proc/cpuinfo`` lists ``avx512_bf16`` or ``amx_bf16``
(or torch reports the same), off otherwise. ``True`` forces it (with a warning on a CPU without native
support), ``False`` turns it off.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

AUTO = "auto"
NATIVE_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class Precision:
    """The arithmetic path that runs: ``bf16`` on or off, and why (for logs, reports and /metadata)."""

    bf16: bool
    reason: str

    @property
    def name(self) -> str:
        return "bf16" if self.bf16 else "fp32"

    def describe(self) -> str:
        return f"{self.name} ({self.reason})"


def parse_bf16(value) -> bool | str:
    """``"auto"`` / ``None`` -> ``"auto"``; booleans and their usual spellings -> bool; anything else: error."""
    if value is None:
        return AUTO
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == AUTO:
            return AUTO
        if text in ("true", "on", "yes", "1"):
            return True
        if text in ("false", "off", "no", "0"):
            return False
    raise ValueError(f"bf16 must be 'auto', true or false, got {value!r}")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where there is no /proc/cpuinfo)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


@functools.cache
def native_cpu_bf16() -> str | None:
    """The native bf16 feature of this CPU (``"avx512_bf16"``, ``"amx_bf16"``), or None when it has none."""
    flags = cpu_flags()
    for flag in NATIVE_CPU_FLAGS:
        if flag in flags:
            return flag
    if not flags:  # no /proc/cpuinfo (macOS, Windows): ask torch's own CPU probe where it has one
        try:
            import torch

            probe = torch._C._cpu
            if probe._is_amx_tile_supported():
                return "amx_bf16"
            if probe._is_avx512_bf16_supported():
                return "avx512_bf16"
        except (AttributeError, RuntimeError, ImportError):
            return None
    return None


def resolve_bf16(setting, device=None) -> Precision:
    """Decide bf16 for ``device`` (a torch device or its type name; default CPU) from ``setting``."""
    choice = parse_bf16(setting)
    kind = getattr(device, "type", device) or "cpu"
    if kind == "cuda":
        import torch

        supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        native = "CUDA bf16" if supported else None
    elif kind == "cpu":
        flag = native_cpu_bf16()
        native = f"CPU {flag}" if flag else None
    else:
        native = None
    if choice == AUTO:
        if native:
            return Precision(True, f"auto: native {native}")
        return Precision(False, f"auto: no native bf16 on this {kind.upper() if kind == 'cpu' else kind}")
    if choice:
        if not native:
            log.warning(
                "bf16 forced on a %s without native bf16: it is emulated there and runs several times slower "
                "than fp32 (use bf16 'auto')",
                kind,
            )
            return Precision(True, f"forced, emulated on this {kind}")
        return Precision(True, f"forced, native {native}")
    return Precision(False, "off")
