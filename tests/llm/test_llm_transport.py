"""The HTTP layer (aiohttp): credentials in URLs never shown, malformed URLs a one-line error, https and proxies.

Servers are fault servers in their own processes (https with a throwaway self-signed certificate).
"""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess

import pytest

from emopillars.cli.main import main
from emopillars.llm import ChatRequest, ErrorKind, SamplingParams, load_llm, parse_spec

pytestmark = pytest.mark.timeout(120)

SECRET = "SeCrEt-KEY-42"
SCHEMA = {"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]}


def _req(key: str) -> ChatRequest:
    return ChatRequest.from_prompt(key, params=SamplingParams(max_tokens=32), schema=SCHEMA, tag=key)


def _with_credentials(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://alice:{SECRET}@{rest}"


# -- credentials -----------------------------------------------------------------------------------------------
def test_url_credentials_are_sent_and_never_shown_fault_server(fake_server, tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("EMOPILLARS_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    caplog.set_level(logging.DEBUG)
    spec = f"openai:{_with_credentials(fake_server.url)}#fake-model"
    with load_llm(spec, cache_path=tmp_path / "c.sqlite") as llm:
        [response] = llm.generate([_req("hello")])
        shown = [llm.describe(), repr(llm), repr(llm.backend), llm.model_id, repr(parse_spec(spec))]
    assert response.ok
    expected = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert fake_server.headers[-1]["Authorization"] == expected
    for text in shown + [caplog.text, (tmp_path / "c.sqlite").read_bytes().decode("latin-1")]:
        assert SECRET not in text
    assert "***" in repr(parse_spec(spec))


def test_url_credentials_never_in_errors_fault_server(fake_server, unused_port, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    fake_server.configure(chat_status=401)
    secret_spec = f"openai:{_with_credentials(fake_server.url)}#fake-model"
    dead_spec = f"openai:http://alice:{SECRET}@127.0.0.1:{unused_port}/v1#m"
    with load_llm(secret_spec, cache=False) as llm:
        [refused] = llm.generate([_req("x")])
    with load_llm(dead_spec, cache=False, http_retries=1, backoff_base=0.001) as llm:
        [dead] = llm.generate([_req("x")])
    assert refused.error_kind == ErrorKind.FATAL and "user and password in the URL" in refused.error
    assert dead.error_kind == ErrorKind.TRANSIENT
    assert main(["llm", "check", "--llm", dead_spec, "--no-cache"]) == 2
    assert main(["llm", "check", "--llm", secret_spec, "--no-cache"]) == 2
    captured = capsys.readouterr()
    for text in (refused.error, dead.error, captured.err, captured.out, caplog.text):
        assert SECRET not in text
    assert "server unreachable" in captured.err and "HTTP 401" in captured.err


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("openai:http://[bad", "malformed URL"),
        ("openai:http://host:99999/v1", "malformed URL"),
        ("openai:http://host:abc/v1", "malformed URL"),
        ("openai:ftp://x", "expected an http(s) URL"),
        ("openai:http://", "names no host"),
        ("openai:http:///v1", "names no host"),
        ("http://host:0/v1", "port 0"),
        (f"openai:http://alice:{SECRET}@[bad/v1#m", "malformed URL"),
        ("openai:http://ho st/v1", "white space"),
    ],
)
def test_malformed_urls_are_one_line_errors(spec, says, capsys):
    with pytest.raises(ValueError, match="spec"):
        parse_spec(spec)
    assert main(["llm", "check", "--llm", spec, "--no-cache"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.count("\n") == 0 and says in err and "Traceback" not in err, err
    assert SECRET not in err + captured.out


# -- https and proxies -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (needed to make a test certificate)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)


def test_https_server_fault_server(make_fake_server, certificate, monkeypatch, tmp_path):
    server = make_fake_server(tls=certificate)
    assert server.url.startswith("https://")
    with load_llm(f"openai:{server.url}#fake-model", cache=False, http_retries=0) as llm:  # cert not trusted yet
        [untrusted] = llm.generate([_req("tls")])
    assert untrusted.error_kind == ErrorKind.FATAL and "not trusted" in untrusted.error
    assert "SSL_CERT_FILE" in untrusted.error
    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])  # how a user trusts a private CA
    with load_llm(f"openai:{server.url}#fake-model", cache=False) as llm:
        responses = llm.generate([_req(f"tls{i}") for i in range(5)])
    assert all(r.ok for r in responses) and responses[4].parsed["echo"] == "tls4"


def test_proxy_from_the_environment_fault_server(fake_server, monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{fake_server.port}")  # the fault server is the proxy
    with load_llm("openai:http://llm.example.invalid:8000/v1#fake-model", cache=False, http_retries=0) as llm:
        [response] = llm.generate([_req("via proxy")])
    assert response.ok, response.error
    assert fake_server.headers[-1]["Host"] == "llm.example.invalid:8000"  # the proxy got the request for that host
