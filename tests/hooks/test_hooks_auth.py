"""CDS Hooks 2.0 client trust: with --trust, a call needs a JWT signed by a trusted EHR's key
(ES384 or RS384), for this service, unexpired, used once; checked on a real uvicorn server."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from ionto_cds.cli import main
from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.errors import UsageError
from ionto_cds.hooks.app import create_app, serving
from ionto_cds.hooks.auth import ClientTrust, read_trust
from ionto_cds.hooks.log import DecisionLog

EHR = "https://ehr.example.org"  # a fictional EHR
VIEW = "/cds-services/ionto-cds-patient-view"
TIMEOUT = httpx.Timeout(20.0)
EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = ec.generate_private_key(ec.SECP384R1())


def _jwks(path: Path) -> Path:
    keys = [{**json.loads(ECAlgorithm.to_jwk(EC_KEY.public_key())), "kid": "ec-1"},
            {**json.loads(RSAAlgorithm.to_jwk(RSA_KEY.public_key())), "kid": "rsa-1"}]
    path.write_text(json.dumps({"keys": keys}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("auth")
    trust = ClientTrust(read_trust([f"{EHR}={_jwks(folder / 'jwks.json')}"]))
    log = DecisionLog(folder / "log.sqlite3")
    with serving(create_app(default_ruleset(), log, trust=trust)) as url, \
            httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        yield client, url
    log.close()


def token(url: str, key: Any = EC_KEY, alg: str = "ES384", kid: str | None = "ec-1",
          **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": EHR, "aud": url + VIEW, "exp": now + 300, "iat": now,
            "jti": str(uuid.uuid4()), "sub": "ehr-client", **claims}
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid} if kid else None)


def request() -> dict[str, Any]:
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/1", "patientId": "example"}, "prefetch": {}}


def post(client: httpx.Client, bearer: str | None, path: str = VIEW) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    return client.post(path, json=request(), headers=headers)


def test_a_token_signed_by_a_trusted_key_for_this_service_is_served(server: Any) -> None:
    client, url = server
    assert post(client, token(url)).status_code == 200
    assert post(client, token(url, RSA_KEY, "RS384", "rsa-1")).status_code == 200
    assert client.get("/cds-services").status_code == 200  # discovery needs no token


@pytest.mark.parametrize("why, make, message", [
    ("none", lambda url: None, "needs an 'Authorization: Bearer <JWT>' header"),
    ("not a JWT", lambda url: "not-a-token", "not a JWT"),
    ("other key", lambda url: token(url, OTHER_KEY), "signature does not match"),
    ("other issuer", lambda url: token(url, iss="https://evil.example"), "is not trusted"),
    ("other service", lambda url: token(url, aud=url + "/cds-services/other"),
     "not for this service"),
    ("expired", lambda url: token(url, exp=int(time.time()) - 600, iat=int(time.time()) - 900),
     "has expired"),
    ("no jti", lambda url: token(url, jti=None), "no 'jti' claim"),
    ("HS256, a shared secret", lambda url: jwt.encode(
        {"iss": EHR, "aud": url + VIEW, "exp": int(time.time()) + 60, "iat": int(time.time()),
         "jti": "x"}, "a shared secret of more than thirty-two bytes", algorithm="HS256"),
     "only ES384 or RS384"),
    ("unknown kid", lambda url: token(url, kid="nope"), "has no key 'nope'"),
])
def test_a_call_without_a_valid_token_is_refused_with_the_reason(
        server: Any, why: str, make: Any, message: str) -> None:
    client, url = server
    answer = post(client, make(url))
    assert answer.status_code == 401, why
    assert message in answer.json()["error"], answer.json()
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_a_token_is_used_once(server: Any) -> None:
    client, url = server
    once = token(url)
    assert post(client, once).status_code == 200
    again = post(client, once)
    assert again.status_code == 401 and "already used" in again.json()["error"]


def test_feedback_needs_a_token_too(server: Any) -> None:
    client, url = server
    body = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "accepted",
                          "outcomeTimestamp": "2026-12-01T10:00:00Z"}]}
    assert client.post(VIEW + "/feedback", json=body).status_code == 401
    signed = token(url, aud=url + VIEW + "/feedback")
    answer = client.post(VIEW + "/feedback", json=body,
                         headers={"Authorization": f"Bearer {signed}"})
    assert answer.status_code == 200, answer.text


def test_trust_options_that_cannot_be_used_are_told(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="write ISSUER=JWKS_FILE"):
        read_trust(["no-equals-sign"])
    with pytest.raises(UsageError, match="cannot read"):
        read_trust([f"{EHR}={tmp_path / 'missing.json'}"])
    for text in ('{"keys": []}', "[1, 2]", "{not json", '{"keys": [], "keys": []}'):
        (tmp_path / "bad.json").write_text(text, encoding="utf-8")
        with pytest.raises(UsageError, match="not a JWK Set") as told:
            read_trust([f"{EHR}={tmp_path / 'bad.json'}"])
        assert str(told.value).count("--trust") == 1  # said once
    jwks = _jwks(tmp_path / "jwks.json")
    with pytest.raises(UsageError, match="is given twice"):
        read_trust([f"{EHR}={jwks}", f"{EHR}={jwks}"])
    code = main(["hooks", "--trust", f"{EHR}={tmp_path / 'missing.json'}"])
    assert code != 0 and "cannot read" in capsys.readouterr().err
    for url in ("cds.example.org", "ftp://cds.example.org", "https://cds.example.org/?a=1"):
        code = main(["hooks", "--trust", f"{EHR}={jwks}", "--public-url", url])
        assert code != 0 and "write the base URL the EHR calls" in capsys.readouterr().err


def test_the_audience_is_the_service_under_the_public_url(tmp_path: Path) -> None:
    trust = ClientTrust(read_trust([f"{EHR}={_jwks(tmp_path / 'jwks.json')}"]))
    log = DecisionLog(tmp_path / "log.sqlite3")
    public = "https://cds.example.org/ionto"
    with serving(create_app(default_ruleset(), log, trust=trust, public_url=public)) as url, \
            httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        assert post(client, token(public)).status_code == 200
        assert post(client, token(url)).status_code == 401  # its own address is not the aud
    log.close()
