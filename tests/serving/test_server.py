"""The HTTP API on a real uvicorn server (its own process, a free loopback port): answers, batching under
concurrent clients, limits, malformed input that never crashes it, and clean startup errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading

import httpx
import numpy as np
import pytest

from emopillars.data.example import Example
from emopillars.inference.precision import resolve_bf16
from emopillars.serving import EmotionClassifier
from emopillars.taxonomy import LABELS as LABEL_TUPLE

LABELS = list(LABEL_TUPLE)
TEXTS = [
    "I am so happy today, this is wonderful!",
    "This makes me furious.",
    "Thank you so much for your help.",
    "The meeting is at noon.",
    "I miss her so much.",
    "ok",
]
# fp32 on both sides: with bf16 (auto on CPUs with AVX512-BF16) a batch's padding moves scores by ~1e-3
LIMITS = ("--max-items", "8", "--max-text-chars", "300", "--max-batch", "16", "--max-wait-ms", "20", "--bf16", "false")


@pytest.fixture(scope="module")
def server(tiny_model, start_server):
    return start_server(tiny_model, *LIMITS)


@pytest.fixture(scope="module")
def local(tiny_model):
    return EmotionClassifier.load(tiny_model, bf16=False)


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as http:
        yield http


def expected(local, items):
    return local.predict([Example(**item) if isinstance(item, dict) else Example(text=item) for item in items])


def check_prediction(answer: dict, want: dict):
    assert list(answer["scores"]) == LABELS  # every label, in the model's order
    np.testing.assert_allclose([answer["scores"][k] for k in LABELS], [want["scores"][k] for k in LABELS], atol=1e-5)
    assert answer["labels"] == want["labels"]


def test_health_and_metadata(client, local, tiny_model):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model_id"] == local.model_id
    assert health["model_id"].startswith("tiny-minilm@")
    meta = client.get("/metadata").json()
    assert meta["labels"] == LABELS
    assert meta["thresholds"]["kind"] == local.policy.kind
    assert list(meta["thresholds"]["by_label"]) == LABELS
    assert meta["context_aware"] is False and meta["backend"] == "torch"
    assert meta["bf16"] is False  # --bf16 false
    assert meta["limits"]["max_items"] == 8 and meta["limits"]["max_text_chars"] == 300
    docs = client.get("/openapi.json").json()
    body = docs["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["anyOf"][1]["type"] == "array"
    assert body["anyOf"][1]["maxItems"] == 8
    assert client.get("/docs").status_code == 200


def test_single_item_answers_scores_labels_and_model_id(client, local):
    answer = client.post("/predict", json={"text": TEXTS[0]})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["model_id"] == local.model_id
    check_prediction(data, expected(local, [TEXTS[0]])[0])
    thresholds = dict(zip(LABELS, local.policy.thresholds(len(LABELS))))
    assert set(data["labels"]) == {k for k, v in data["scores"].items() if v >= thresholds[k]}


def test_a_list_answers_in_order(client, local):
    answer = client.post("/predict", json=[{"text": t} for t in TEXTS])
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert len(predictions) == len(TEXTS)
    for got, want in zip(predictions, expected(local, TEXTS)):
        check_prediction(got, want)


def test_concurrent_clients_each_get_their_own_answer(client, server, local):
    before = client.get("/health").json()["items"]
    n_clients = 24
    barrier = threading.Barrier(n_clients)
    answers: dict[int, httpx.Response] = {}
    requests = {i: [{"text": f"{TEXTS[i % len(TEXTS)]} (client {i})"}] * (1 + i % 3) for i in range(n_clients)}

    def call(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            barrier.wait()
            answers[i] = http.post("/predict", json=requests[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, items in requests.items():
        assert answers[i].status_code == 200, answers[i].text
        got = answers[i].json()["predictions"]
        assert len(got) == len(items)
        for answer, want in zip(got, expected(local, items)):
            check_prediction(answer, want)
    health = client.get("/health").json()
    assert health["items"] - before == sum(len(items) for items in requests.values())
    assert health["largest_batch"] <= 16


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ([{"text": "hi"}] * 9, 413, "at most 8 (--max-items)"),
        ({"text": "x" * 301}, 413, "body.text has 301 characters; this server accepts at most 300"),
        ([{"text": "ok"}, {"text": "fine", "context": "y" * 400}], 413, "body[1].context has 400 characters"),
        ({"txt": "hello"}, 422, "body.text: Field required"),
        ([{"text": "fine"}, {"text": 5}], 422, "body[1].text: Input should be a valid string"),
        ({"text": "hi", "mood": "x"}, 422, "body.mood: Extra inputs are not permitted"),
        ({"text": None}, 422, "body.text"),
        ([], 422, "the list of items is empty"),
        (42, 422, "expected a JSON object"),
        ("just a string", 422, "expected a JSON object"),
        ({"text": "   "}, 422, "body.text: the text is empty"),
        ([{"text": "ok"}, "hi"], 422, "body[1]"),
    ],
)
def test_bad_requests_get_a_clear_status_and_message(client, server, body, status, message):
    answer = client.post("/predict", json=body)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["error"]
    assert server.alive()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"text": "caf\xe9"}', "not valid JSON"),  # not UTF-8
        (b"[" * 20_000 + b"]" * 20_000, "not valid JSON"),  # nesting deeper than any parser recursion
        (b'{"text": "\\ud800"}', "not valid JSON"),  # a lone surrogate
    ],
)
def test_malformed_bodies_are_422_and_the_server_survives(client, server, raw, message):
    answer = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["error"]
    assert client.get("/health").json()["status"] == "ok" and server.alive()


def test_an_oversized_body_is_refused_before_it_is_read(client, server):
    limit = client.get("/metadata").json()["limits"]
    too_big = b'{"text": "' + b"a" * (64 * 1024 + limit["max_items"] * (12 * 300 + 256)) + b'"}'
    answer = client.post("/predict", content=too_big, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "accepts at most" in answer.json()["error"]

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(200):
            yield b"a" * 10_000

    answer = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert server.alive()


def test_wrong_method_and_unknown_path(client):
    assert client.get("/predict").status_code == 405
    assert client.get("/nope").status_code == 404


def test_the_page_is_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="text"' in page.text and 'id="bars"' in page.text and "http" not in page.text.split("<script>")[1]


def test_context_aware_model_reads_the_context(tiny_context_model, start_server):
    server = start_server(tiny_context_model)
    local = EmotionClassifier.load(tiny_context_model)
    item = {"text": "Well, that went well.", "context": "The cake fell on the floor."}
    with httpx.Client(base_url=server.url, timeout=120) as http:
        meta = http.get("/metadata").json()
        assert meta["context_aware"] is True and meta["bf16"] is resolve_bf16("auto", "cpu").bf16  # the default
        with_context = http.post("/predict", json=item).json()
        without = http.post("/predict", json={"text": item["text"]}).json()
    check_prediction(with_context, expected(local, [item])[0])
    assert with_context["scores"] != without["scores"]


def test_onnx_backend_serves_the_exported_folder(tiny_onnx, start_server):
    server = start_server(tiny_onnx["fp32"], "--backend", "onnx")
    local = EmotionClassifier.load(tiny_onnx["fp32"])
    with httpx.Client(base_url=server.url, timeout=120) as http:
        meta = http.get("/metadata").json()
        answer = http.post("/predict", json=[{"text": t} for t in TEXTS]).json()
    assert meta["backend"] == "onnx" and meta["bf16"] is False and meta["model_id"].startswith("fp32@")
    for got, want in zip(answer["predictions"], expected(local, TEXTS)):
        check_prediction(got, want)


def _serve_fails(model, *options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emopillars.cli.main", "serve", "--model", str(model), "--port", "0", *options],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_folder_that_is_not_a_model_is_a_clean_startup_error(tmp_path, tiny_model):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _serve_fails(empty)
    assert result.returncode == 2
    assert "is not a model directory: it is empty" in result.stderr and "Traceback" not in result.stderr

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    result = _serve_fails(broken)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "model.safetensors is truncated" in result.stderr

    result = _serve_fails(tiny_model, "--max-batch", "0")
    assert result.returncode == 2 and "max-batch must be a positive integer" in result.stderr
