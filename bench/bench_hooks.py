"""CDS Hooks service latency on loopback: p50 / p99 per call through a real HTTP client.

Starts `ionto-cds hooks` (Starlette on uvicorn) as its own process on a free 127.0.0.1 port, as
it is deployed, and times each call from httpx's send to the parsed JSON, one call at a time
over one keep-alive connection. (A server thread inside the client's process would measure
the two threads taking turns at the GIL: about 45 ms a call here, not the service.) Beside it,
in the same run, the yardsticks: the part of a call spent in `answers_from_fhir` (FHIR
validation with fhir.resources and the mapping) and in `assess` alone. Target (DESIGN
section 8): p99 < 50 ms per hook call.

    .venv/bin/python bench/bench_hooks.py [--calls 300] [--write]

--write replaces the hooks section of bench/RESULTS.md (between the hooks markers).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fhir_records import (  # noqa: E402  (the tests' fictional records)
    PATIENT_ID,
    cleared_answers,
    device,
    observation,
    order,
    patient,
    procedure,
    questionnaire,
)

from ionto_cds import assess  # noqa: E402
from ionto_cds.engine.ruleset import default_ruleset  # noqa: E402
from ionto_cds.fhir import answers_from_fhir  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- hooks:start -->", "<!-- hooks:end -->"
TARGET_P99_MS = 50.0
SCT = "http://snomed.info/sct"


def _searchset(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r} for r in resources]}


def _prefetch(*resources: dict) -> dict:
    keys = {"Device": "devices", "Procedure": "procedures", "Observation": "observations",
            "QuestionnaireResponse": "answers", "Condition": "conditions"}
    out: dict = {k: _searchset() for k in ("conditions", "devices", "procedures",
                                           "observations")}
    out["patient"] = patient()
    for r in resources:
        out.setdefault(keys[r["resourceType"]], _searchset())["entry"].append({"resource": r})
    return out


def _body(hook: str, prefetch: dict, **context: object) -> dict:
    return {"hook": hook, "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/bench", "patientId": PATIENT_ID, **context},
            "prefetch": prefetch}


def scenarios() -> dict[str, tuple[str, str, dict | None]]:
    """name: (method, path, body)."""
    pacemaker = _prefetch(device(SCT, "14106009", "Cardiac pacemaker, device (physical object)"),
                          procedure(SCT, "307280005",
                                    "Implantation of cardiac pacemaker (procedure)"))
    eligible = _prefetch(questionnaire(cleared_answers()),
                         observation("29463-7", quantity=(61, "kg")))
    drafts = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order()}]}
    return {
        "discovery (GET /cds-services)": ("GET", "/cds-services", None),
        "patient-view, pacemaker (not eligible)": (
            "POST", "/cds-services/ionto-cds-patient-view", _body("patient-view", pacemaker)),
        "patient-view, empty record (needs information)": (
            "POST", "/cds-services/ionto-cds-patient-view", _body("patient-view", _prefetch())),
        "order-select, eligible with plan suggestion": (
            "POST", "/cds-services/ionto-cds-order-select",
            _body("order-select", eligible, selections=["ServiceRequest/order-1"],
                  draftOrders=drafts)),
    }


@contextlib.contextmanager
def service_process(db: Path, timeout: float = 60.0) -> Iterator[str]:
    """`ionto-cds hooks` in its own process on a free loopback port; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "ionto_cds.cli", "hooks", "--port",
                             str(port), "--db", str(db)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{url}/cds-services", timeout=1.0).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the hooks service did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99, ordered[-1]


def _time(fn: Callable[[], object], calls: int) -> list[float]:
    for _ in range(10):
        fn()
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run(calls: int) -> list[tuple[str, float, float, float]]:
    rs = default_ruleset()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, \
            service_process(Path(tmp) / "log.sqlite3") as url, \
            httpx.Client(base_url=url, timeout=httpx.Timeout(30.0)) as client:
        for name, (method, path, body) in scenarios().items():
            def call(method: str = method, path: str = path, body: dict | None = body
                     ) -> object:
                response = client.request(method, path, json=body)
                response.raise_for_status()
                return response.json()
            rows.append((name, *_percentiles(_time(call, calls))))
        card = client.post("/cds-services/ionto-cds-patient-view",
                           json=scenarios()["patient-view, pacemaker (not eligible)"][2]
                           ).json()["cards"][0]["uuid"]
        feedback = {"feedback": [{"card": card, "outcome": "accepted",
                                  "outcomeTimestamp": "2026-12-01T12:00:00Z"}]}
        rows.append(("feedback (POST .../feedback)", *_percentiles(_time(
            lambda: client.post("/cds-services/ionto-cds-patient-view/feedback",
                                json=feedback).raise_for_status(), calls))))
    body = scenarios()["order-select, eligible with plan suggestion"][2]
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for key in body["prefetch"]
                        for r in ([body["prefetch"][key]] if key == "patient" else
                                  [e["resource"] for e in body["prefetch"][key]["entry"]])]
              + [{"resource": order()}]}
    record = answers_from_fhir(bundle, rs)
    rows.append(("yardstick: answers_from_fhir (validate + map) of that order-select",
                 *_percentiles(_time(lambda: answers_from_fhir(bundle, rs), calls))))
    rows.append(("yardstick: assess() of the same answers",
                 *_percentiles(_time(lambda: assess(record.answers, rs), calls))))
    return rows


def table(rows: list[tuple[str, float, float, float]], calls: int) -> str:
    head = (f"Measured {dt.date.today().isoformat()} on {platform.machine()} "
            f"({platform.python_version()}, {os.cpu_count()} CPUs shared with other work: load "
            f"average {os.getloadavg()[0]:.1f} at the end), {calls} calls each after 10 "
            "warm-up calls, one at a time over one keep-alive httpx connection to `ionto-cds "
            "hooks` (uvicorn, its own process) on 127.0.0.1; the "
            "decision log (SQLite, WAL) is written on every hook and feedback call. Target: "
            f"p99 < {TARGET_P99_MS:g} ms per hook call.")
    lines = [head, "", "| call | p50 ms | p99 ms | max ms | p99 target |", "|---|---|---|---|---|"]
    for name, p50, p99, top in rows:
        verdict = "" if name.startswith("yardstick") else (
            "met" if p99 < TARGET_P99_MS else "**missed**")
        lines.append(f"| {name} | {p50:.1f} | {p99:.1f} | {top:.1f} | {verdict} |")
    return "\n".join(lines)


def write(section: str) -> None:
    """Replace the hooks section of RESULTS.md (or append it), leaving the rest alone."""
    text = RESULTS.read_text(encoding="utf-8")
    block = (f"{START}\n## CDS Hooks service on loopback (`bench/bench_hooks.py`)\n\n"
             f"{section}\n{END}")
    if START in text and END in text:
        text = text[: text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    section = table(run(args.calls), args.calls)
    print(section)
    if args.write:
        write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
