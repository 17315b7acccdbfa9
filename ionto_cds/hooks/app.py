"""The CDS Hooks 2.0 HTTP service on Starlette + uvicorn, bound to loopback by default.

GET /cds-services (discovery), POST /cds-services/{id} (patient-view, order-select), POST
/cds-services/{id}/feedback (into the decision log). Request bodies are read by the strict JSON
layer and bounded in size; a bad request gets HTTP 400 with a one-line reason.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ionto_cds.engine.ruleset import RuleSet, default_ruleset
from ionto_cds.errors import HookAuthError, HookRequestError, JSONRefused, ProgramError, UsageError
from ionto_cds.hooks.auth import ClientTrust, check_public_url, read_trust
from ionto_cds.hooks.log import DecisionLog
from ionto_cds.hooks.services import BY_ID, HookHandler, discovery
from ionto_cds.inputs import MAX_FILE_BYTES
from ionto_cds.language.jsonsource import strict_json

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _refused(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=401,
                        headers={"WWW-Authenticate": 'Bearer realm="cds-services"'})


async def _body(request: Request) -> dict[str, object]:
    raw = await request.body()
    if len(raw) > MAX_FILE_BYTES:
        raise HookRequestError(f"the request is {len(raw):,} bytes: at most {MAX_FILE_BYTES:,}")
    try:
        data = strict_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise HookRequestError("the request body is not UTF-8 JSON") from None
    except JSONRefused as exc:
        raise HookRequestError(f"the request body: {exc}") from None
    if not isinstance(data, dict):
        raise HookRequestError("the request body must be a JSON object")
    return data


def create_app(ruleset: RuleSet | None = None, log: DecisionLog | None = None,
               allowed_hosts: Sequence[str] = LOOPBACK_NAMES,
               cors_origins: Sequence[str] = (), trust: ClientTrust | None = None,
               public_url: str | None = None) -> Starlette:
    """The ASGI app (``allowed_hosts``: Host header names accepted, against DNS rebinding).

    With ``trust``, every service call and feedback needs a valid JWT from a trusted CDS
    Client whose ``aud`` is the service's URL under ``public_url`` (the base URL the clients
    call, e.g. behind a TLS proxy; default: the request's own)."""
    rs = ruleset if ruleset is not None else default_ruleset()
    handler = HookHandler(rs, log if log is not None else DecisionLog())
    services = JSONResponse(discovery(rs)).body  # the same bytes on every call

    def authorised(request: Request, service: str, *suffixes: str) -> None:
        if trust is None:
            return
        base = (public_url or str(request.base_url)).rstrip("/")
        url = f"{base}/cds-services/{service}"
        trust.check(request.headers.get("authorization"), [url + s for s in suffixes])

    async def list_services(request: Request) -> Response:
        return Response(services, media_type="application/json")

    async def call(request: Request) -> Response:
        service = request.path_params["service"]
        if service not in BY_ID:
            return _error(404, f"no CDS service '{service}'")
        try:
            authorised(request, service, "")
            return JSONResponse(handler.call(service, await _body(request)))
        except HookAuthError as exc:
            return _refused(str(exc))
        except HookRequestError as exc:
            return _error(400, str(exc))

    async def feedback(request: Request) -> Response:
        service = request.path_params["service"]
        if service not in BY_ID:
            return _error(404, f"no CDS service '{service}'")
        try:
            authorised(request, service, "/feedback", "")
            kept = handler.feedback(service, await _body(request))
        except HookAuthError as exc:
            return _refused(str(exc))
        except HookRequestError as exc:
            return _error(400, str(exc))
        return JSONResponse({"recorded": kept})

    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    if cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(cors_origins),
                                     allow_methods=["GET", "POST", "OPTIONS"],
                                     allow_headers=["Authorization", "Content-Type"]))
    return Starlette(routes=[
        Route("/cds-services", list_services, methods=["GET"]),
        Route("/cds-services/{service}", call, methods=["POST"]),
        Route("/cds-services/{service}/feedback", feedback, methods=["POST"]),
    ], middleware=middleware)


def run_hooks(host: str = "127.0.0.1", port: int = 8090, db: str | None = None,
              rules: str | Path | None = None, allow_remote: bool = False,
              cors_origins: Sequence[str] = (), trusted: Sequence[str] = (),
              public_url: str | None = None) -> int:
    """Serve until interrupted; 0 on a clean stop. ``trusted``: ``ISSUER=JWKS_FILE`` pairs."""
    import uvicorn

    from ionto_cds.engine.ruleset import load_ruleset

    if not is_loopback(host) and not allow_remote:
        raise UsageError(f"--host {host} is not a loopback address: the service binds to "
                         "127.0.0.1 by default; add --allow-remote to listen on another "
                         "interface (and put it behind TLS and the EHR's authentication)")
    trust = ClientTrust(read_trust(list(trusted))) if trusted else None
    public_url = check_public_url(public_url) if public_url is not None else None
    rs = load_ruleset(rules) if rules else default_ruleset()
    log = DecisionLog(db)
    hosts = ["*"] if allow_remote else list(LOOPBACK_NAMES)
    app = create_app(rs, log, hosts, cors_origins, trust, public_url)
    print(f"ionto-cds CDS Hooks service: http://{host}:{port}/cds-services "
          f"(decision log: {log.path})", file=sys.stderr)
    if trust is not None:
        print(f"  calls need a JWT from: {', '.join(sorted(trust.issuers))}", file=sys.stderr)
    elif allow_remote:
        print("  WARNING: no --trust: anyone who can reach this address can call the service; "
              "add --trust ISSUER=JWKS_FILE for each EHR", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


@contextlib.contextmanager
def serving(app: Starlette, host: str = "127.0.0.1", timeout: float = 30.0) -> Iterator[str]:
    """Run ``app`` on uvicorn in a thread on a free loopback port; yields its base URL and
    stops the server on exit (for tests and the bench)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise ProgramError(f"the CDS Hooks server did not start within {timeout:g} s")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
