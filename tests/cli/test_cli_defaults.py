"""Options left unset resolve to the library's defaults: the CLI never repeats (and so never shadows) them."""

from __future__ import annotations

import argparse
import dataclasses
import inspect

import pytest

from emopillars.cli import adapt as adapt_cli
from emopillars.cli import train as train_cli
from emopillars.cli._options import given
from emopillars.cli.main import build_parser, main
from emopillars.training.config import TrainConfig


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_train_without_options_resolves_to_trainconfig_defaults_field_by_field():
    args = build_parser().parse_args(["train", "--train", "t.tsv", "--out", "model_dir"])
    resolved = train_cli.build_config(args)
    expected = TrainConfig(output_dir="model_dir")
    for field in dataclasses.fields(TrainConfig):
        assert getattr(resolved, field.name) == getattr(expected, field.name), field.name
    # the defect this guards against: the head trained at the body's lr because --head-lr was not given
    assert resolved.head_lr == TrainConfig.head_lr is not None


def test_train_options_given_reach_the_config():
    args = build_parser().parse_args(
        ["train", "--train", "t.tsv", "--out", "m", "--head-lr", "same", "--epochs", "2", "--soft", "--threads", "3"]
    )
    config = train_cli.build_config(args)
    assert config.head_lr is None and config.epochs == 2 and config.soft_targets and config.num_threads == 3
    args = build_parser().parse_args(["train", "--train", "t.tsv", "--out", "m", "--head-lr", "5e-4"])
    assert train_cli.build_config(args).head_lr == 5e-4


def test_every_train_option_that_sets_a_config_field_is_mapped():
    train_parser = _subparsers(build_parser())["train"]
    dests = {action.dest for action in train_parser._actions}
    assert set(train_cli.CONFIG_OPTIONS) <= dests
    assert set(train_cli.CONFIG_OPTIONS.values()) <= {field.name for field in dataclasses.fields(TrainConfig)}


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "adapt", "benchmark"])
def test_no_option_carries_a_default_of_its_own(command):
    """Defaults are None (not given: the library decides) or False (a switch that is off); no literals."""
    parser = _subparsers(build_parser())[command]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.dest == "func":
            continue
        if action.dest == "start" and command == "benchmark":  # --start NAME=PATH, repeatable: a list
            assert action.default == []
            continue
        assert action.default in (None, False), (command, action.dest, action.default)


def test_adapt_passes_only_given_options_so_adapts_own_defaults_apply(monkeypatch):
    from emopillars.adapt import run as adapt_run

    args = build_parser().parse_args(["adapt", "--task", "isear", "--out", "o"])
    assert given(args, ["head", "seed", "profile", "epochs", "limit"]) == {}
    assert given(args, ["max_length", "batch_size", "lr"]) == {}
    assert args.start is None
    signature = inspect.signature(adapt_run.adapt).parameters
    assert {"head", "seed", "profile", "epochs", "limit"} <= set(signature)
    args = build_parser().parse_args(["adapt", "--task", "isear", "--out", "o", "--seed", "7", "--lr", "3e-5"])
    assert given(args, ["head", "seed", "profile"]) == {"seed": 7}
    assert given(args, ["max_length", "batch_size", "lr"]) == {"lr": 3e-5}
    assert adapt_cli.ADAPT == "emopillars.adapt.run:adapt"


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        (["train", "--help"], f"(default: {TrainConfig.head_lr})"),
        (["train", "--help"], f"(default: {TrainConfig.epochs})"),
        (["evaluate", "--help"], "(default: 64)"),
        (["adapt", "--help"], "(default: keep)"),
    ],
)
def test_help_shows_the_library_default(command, needle, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    assert exit_info.value.code == 0
    assert needle in " ".join(capsys.readouterr().out.split())


def test_synthesize_without_options_resolves_to_synthesisconfig_defaults_field_by_field():
    from emopillars.cli import synthesize as synthesize_cli
    from emopillars.synth import SynthesisConfig

    args = build_parser().parse_args(["synthesize", "--corpus", "plots.jsonl", "--out", "run"])
    resolved = synthesize_cli.build_config(args)
    expected = SynthesisConfig(corpus="plots.jsonl", out_dir="run")
    for field in dataclasses.fields(SynthesisConfig):
        assert getattr(resolved, field.name) == getattr(expected, field.name), field.name
    assert synthesize_cli._engine(args) is None  # the local engine


def test_synthesize_options_given_reach_the_config():
    from emopillars.cli import synthesize as synthesize_cli

    args = build_parser().parse_args(
        ["synthesize", "--corpus", "c", "--out", "o", "--seed", "5", "--context-fraction", "0.5", "--batch-size", "8",
         "--label-llm", "openai:http://h:1/v1#m", "--label-samples", "3", "--schedule", "plain",
         "--max-tokens", "labels=80", "--format", "csv"]
    )  # fmt: skip
    config = synthesize_cli.build_config(args)
    assert (config.seed, config.context_fraction, config.batch_size) == (5, 0.5, 8)
    assert config.label_llms == ["openai:http://h:1/v1#m"] and config.label_samples == 3
    assert config.schedule == "plain" and config.max_tokens["labels"] == 80 and config.corpus_format == "csv"
    assert set(synthesize_cli.CONFIG_OPTIONS.values()) <= {f.name for f in dataclasses.fields(type(config))}


def test_teacher_audit_without_options_resolves_to_auditconfig_defaults_field_by_field():
    from emopillars.cli import teacher as teacher_cli
    from emopillars.teacher.audit import AuditConfig

    parser = _subparsers(_subparsers(build_parser())["teacher"])["audit"]
    args = parser.parse_args(["--out", "audit"])
    resolved = teacher_cli.build_audit_config(args)
    expected = AuditConfig(out_dir="audit")
    for field in dataclasses.fields(AuditConfig):
        assert getattr(resolved, field.name) == getattr(expected, field.name), field.name
    args = parser.parse_args(["--out", "audit", "--n", "0", "--label-samples", "2", "--seed", "4"])
    given_config = teacher_cli.build_audit_config(args)
    assert given_config.n is None and given_config.samples == 2 and given_config.seed == 4


@pytest.mark.parametrize(
    "command", [["synthesize"], ["teacher", "audit"], ["serve"], ["inspect"], ["annotate", "export"]]
)
def test_commands_built_on_a_library_config_carry_no_default_of_their_own(command):
    parser = build_parser()
    for name in command:
        parser = _subparsers(parser)[name]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.dest == "func":
            continue
        assert action.default in (None, False), (command, action.dest, action.default)


def test_serve_and_inspect_without_options_resolve_to_the_library_defaults():
    from emopillars.cli import serve as serve_cli
    from emopillars.serving.app import ServeSettings

    args = build_parser().parse_args(["serve", "--model", "m"])
    assert serve_cli.build_settings(args) == ServeSettings()
    args = build_parser().parse_args(["serve", "--model", "m", "--max-batch", "8", "--max-wait-ms", "1"])
    assert serve_cli.build_settings(args) == ServeSettings(max_batch=8, batch_size=8, max_wait_ms=1.0)
    assert (
        given(build_parser().parse_args(["inspect", "data.jsonl"]), ["embed_model", "near_dup_threshold", "seed"])
        == {}
    )
