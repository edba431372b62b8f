"""bf16 'auto': on only where the hardware computes bf16 natively; forced bf16 on a CPU without it warns."""

from __future__ import annotations

import logging

import pytest

from emopillars.inference import precision
from emopillars.inference.precision import cpu_flags, parse_bf16, resolve_bf16
from emopillars.training.config import TrainConfig

AVX2_ONLY = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse sse2 avx avx2 fma\n"
SAPPHIRE = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile amx_bf16\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "auto"), ("auto", "auto"), ("AUTO", "auto"), (True, True), (False, False), ("true", True), ("off", False)],
)
def test_parse_bf16(value, expected):
    assert parse_bf16(value) == expected


def test_parse_bf16_rejects_other_values():
    with pytest.raises(ValueError, match="bf16 must be 'auto', true or false"):
        parse_bf16("maybe")
    with pytest.raises(ValueError, match="TrainConfig.bf16"):
        TrainConfig(bf16="maybe")


def test_train_config_defaults_to_auto_and_round_trips(tmp_path):
    assert TrainConfig().bf16 == "auto"
    assert TrainConfig(bf16=None).bf16 == "auto"
    config = TrainConfig(bf16="auto", output_dir=str(tmp_path))
    config.save(tmp_path)
    assert TrainConfig.load(tmp_path).bf16 == "auto"


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(AVX2_ONLY)
    assert "avx2" in cpu_flags(path) and "avx512_bf16" not in cpu_flags(path)
    path.write_text(SAPPHIRE)
    assert {"avx512_bf16", "amx_bf16"} <= cpu_flags(path)
    assert cpu_flags(tmp_path / "missing") == frozenset()


@pytest.fixture
def cpu(monkeypatch, tmp_path):
    """Point the detector at a cpuinfo file of our choosing."""

    def use(text: str):
        path = tmp_path / "cpuinfo"
        path.write_text(text)
        monkeypatch.setattr(precision, "CPUINFO", path)
        monkeypatch.setattr(precision, "cpu_flags", lambda cpuinfo=path: frozenset(text.split("flags")[1].split()))
        precision.native_cpu_bf16.cache_clear()

    yield use
    precision.native_cpu_bf16.cache_clear()


def test_auto_is_off_on_an_avx2_only_cpu_and_forced_bf16_warns(cpu, caplog):
    cpu(AVX2_ONLY)
    auto = resolve_bf16("auto", "cpu")
    assert auto.bf16 is False and "no native bf16" in auto.reason and auto.name == "fp32"
    with caplog.at_level(logging.WARNING):
        forced = resolve_bf16(True, "cpu")
    assert forced.bf16 is True and "emulated" in forced.reason
    assert "several times slower" in caplog.text
    assert resolve_bf16(False, "cpu").describe() == "fp32 (off)"


def test_auto_is_on_where_the_cpu_has_native_bf16(cpu):
    cpu(SAPPHIRE)
    auto = resolve_bf16("auto", "cpu")
    assert auto.bf16 is True and "avx512_bf16" in auto.reason


def test_this_machine_reports_what_its_cpu_has():
    flags = cpu_flags()
    has_native = bool({"avx512_bf16", "amx_bf16"} & flags)
    assert resolve_bf16("auto", "cpu").bf16 is has_native or not flags
