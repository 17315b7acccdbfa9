"""Serve a packaged notebook with Voila on 127.0.0.1, with no request leaving the machine.

Each launch has its own secret token (Jupyter server's token mechanism): the URL the command
prints carries it, and a page, kernel or websocket request without it is refused, so another
process or user on the machine cannot open the app or drive its kernel. Requests whose ``Host``
is not the loopback address are refused too (DNS rebinding). The token is written to the
launch's private configuration folder, not on the command line.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import webbrowser
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from ionto_cds.errors import UsageError

NOTEBOOKS = {
    "clinician": "01_clinician_assessment.ipynb",
    "dose": "02_dose_calculator.ipynb",
    "educator": "03_educator_pathways.ipynb",
}
TEMPLATE = "ionto-offline"
_REMOTE_LINK = re.compile(r"^.*<link[^>]+href=\"https?://[^\"]*\"[^>]*>.*\n?", re.MULTILINE)


def notebooks_dir() -> Path:
    """The notebooks shipped in the wheel, else the checkout's notebooks/ folder."""
    package = Path(__file__).resolve().parent
    packaged = package / "notebooks"
    if packaged.is_dir():
        return packaged
    return package.parent / "notebooks"


def notebook_path(notebook: str) -> Path:
    """A notebook by short name ('clinician', 'dose') or file name."""
    name = NOTEBOOKS.get(notebook, notebook)
    path = notebooks_dir() / name
    if not path.is_file():
        known = ", ".join(NOTEBOOKS)
        raise UsageError(f"no notebook '{notebook}' in {notebooks_dir()} (known: {known})")
    return path


def free_port() -> int:
    """A TCP port nobody listens on at the moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _installed_template_file(template: str, name: str) -> Path:
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path():
        candidate = Path(root) / "voila" / "templates" / template / name
        if candidate.is_file():
            return candidate
    raise UsageError(f"the Voila template file {template}/{name} is not installed: reinstall "
                     "ionto-cds")


def offline_template(root: Path) -> Path:
    """Write Voila's lab template minus its CDN stylesheet links under ``root``.

    Voila's `lab` template and its base page link Font Awesome from a public CDN; on a hospital
    network that is a failed request and a privacy leak. Returns the Jupyter data folder to put
    first on JUPYTER_PATH.
    """
    target = root / "voila" / "templates" / TEMPLATE
    target.mkdir(parents=True, exist_ok=True)
    (target / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")
    for template, name in (("lab", "index.html.j2"), ("base", "page.html")):
        text = _installed_template_file(template, name).read_text(encoding="utf-8")
        text = _REMOTE_LINK.sub("", text)
        if name == "index.html.j2":  # mermaid would import from a CDN if a diagram appeared
            text += ("\n{%- block html_head_js_mermaidjs -%}"
                     "{%- endblock html_head_js_mermaidjs -%}\n")
        (target / name).write_text(text, encoding="utf-8")
    return root


# A page's kernel is shut down when the page closes or reloads (its beacon, accepted thanks to
# serve_kernels); a kernel whose page went without one (a crashed tab) is culled once it has had
# no connection and no activity for this long, checked this often. Tests shorten both.
IDLE_TIMEOUT_S = 600
CULL_INTERVAL_S = 60
IOPUB_TIMEOUT_S = 60
_CULL_ENV = {"IONTO_CDS_KERNEL_IDLE_TIMEOUT": IDLE_TIMEOUT_S,
             "IONTO_CDS_KERNEL_CULL_INTERVAL": CULL_INTERVAL_S}


def culling(environ: Mapping[str, str]) -> tuple[int, int]:
    """(idle timeout, cull interval) in seconds: the defaults, or whole seconds >= 1 from
    ``IONTO_CDS_KERNEL_IDLE_TIMEOUT`` and ``IONTO_CDS_KERNEL_CULL_INTERVAL``."""
    values = []
    for name, default in _CULL_ENV.items():
        text = environ.get(name, "").strip()
        if not text:
            values.append(default)
        elif text.isdigit() and int(text) >= 1:
            values.append(int(text))
        else:
            raise UsageError(f"{name} must be a whole number of seconds (1 or more), got "
                             f"{text!r}")
    return values[0], values[1]


def write_server_config(root: Path, token: str, idle_timeout: int = IDLE_TIMEOUT_S,
                        cull_interval: int = CULL_INTERVAL_S) -> Path:
    """Voila's configuration for one launch (``voila.json`` in ``root``, readable by the user
    only): the token, requests only for a loopback ``Host``, and kernels that do not outlive
    their page (see serve_kernels)."""
    config = {
        "Voila": {"token": token, "tornado_settings": {
            "allow_remote_access": False, "local_hostnames": ["localhost"]},
            "identity_provider_class": "ionto_cds.serve_kernels.PageIdentityProvider"},
        "VoilaConfiguration": {
            "multi_kernel_manager_class": "ionto_cds.serve_kernels.PageKernelManager",
            # the rule catalogue beside the educator notebook: its pages, styles, script only
            "file_allowlist": [r"catalog/[\w./-]+\.(html|css|js)"]},
        "MappingKernelManager": {"cull_idle_timeout": idle_timeout,
                                 "cull_interval": cull_interval, "cull_connected": False,
                                 "cull_busy": False},
        # nbclient waits 4 s for a cell's output after its reply, then drops it: on a busy
        # server that dropped the app's widget and the page stayed blank.
        "VoilaExecutor": {"iopub_timeout": IOPUB_TIMEOUT_S},
    }
    path = root / "voila.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    path.chmod(0o600)
    return root


CATALOGUE_URL = "voila/files/catalog/index.html"
"""Where Voila serves the rule catalogue built beside the educator notebook (page-relative)."""
CATALOGUE_URL_ENV = "IONTO_CDS_CATALOGUE_URL"


def _with_catalogue(notebook: Path, root: Path) -> Path:
    """A copy of ``notebook`` in this launch's folder with the rule catalogue built beside it,
    so Voila (which serves files next to the notebook it runs) can serve the catalogue."""
    from ionto_cds.engine.ruleset import default_ruleset
    from ionto_cds.render.catalog import build_catalog

    site = root / "app"
    site.mkdir(exist_ok=True)
    copy = site / notebook.name
    copy.write_bytes(notebook.read_bytes())
    build_catalog(default_ruleset(), site / "catalog")
    return copy


def voila_command(notebook: Path, port: int, template: str = TEMPLATE,
                  config_dir: Path | None = None) -> list[str]:
    """The Voila command line: loopback only, preheated kernel, offline template, and the
    launch's configuration folder (token, Host check) when given."""
    return [
        sys.executable, "-m", "voila", str(notebook),
        "--Voila.ip=127.0.0.1", f"--port={port}", "--no-browser",
        f"--template={template}",
        *([f"--Voila.config_file_paths={config_dir}"] if config_dir is not None else []),
        "--VoilaConfiguration.preheat_kernel=True",
        "--VoilaConfiguration.default_pool_size=1",
        "--VoilaConfiguration.show_tracebacks=False",
        "--ServerApp.open_browser=False",
    ]


def wait_for_port(port: int, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
                  ) -> bool:
    """Poll a TCP connect to 127.0.0.1:port until it answers (False on timeout or exit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


def start_voila(notebook: str = "clinician", port: int | None = None,
                data_dir: Path | None = None) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Start Voila in a child process; returns (process, URL with the launch's token, temporary
    data folder)."""
    path = notebook_path(notebook)
    chosen = port if port is not None else free_port()
    root = data_dir if data_dir is not None else Path(tempfile.mkdtemp(prefix="ionto-voila-"))
    offline_template(root)
    token = secrets.token_urlsafe(24)
    write_server_config(root, token, *culling(os.environ))
    env = dict(os.environ)
    if notebook == "educator":
        path = _with_catalogue(path, root)
        env[CATALOGUE_URL_ENV] = CATALOGUE_URL
    env["JUPYTER_PATH"] = os.pathsep.join(
        [str(root), *([env["JUPYTER_PATH"]] if env.get("JUPYTER_PATH") else [])])
    process = subprocess.Popen(voila_command(path, chosen, config_dir=root), env=env,
                               cwd=path.parent, start_new_session=True)
    return process, f"http://127.0.0.1:{chosen}/?token={token}", root


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop Voila: SIGTERM (it shuts its kernels down cleanly), then SIGKILL to its group."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def run_app(port: int | None, open_browser: bool, notebook: str = "clinician") -> int:
    """Serve a packaged notebook on 127.0.0.1 until Ctrl-C; 0 on a clean stop, 2 if it failed."""
    def _terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _serve(port, open_browser, notebook)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(port: int | None, open_browser: bool, notebook: str) -> int:
    try:
        process, url, root = start_voila(notebook, port)
    except FileNotFoundError as exc:
        print(f"ionto-cds app: {exc}", file=sys.stderr)
        return 2
    try:
        if not wait_for_port(urlparse(url).port or 0, 60.0, process):
            print(f"ionto-cds app: Voila did not start (exit status {process.poll()})",
                  file=sys.stderr)
            stop(process)
            return 2
        print(f"ionto-cds app running at {url}  (Ctrl-C stops it)", flush=True)
        if open_browser:
            webbrowser.open(url)
        code = process.wait()
        return 0 if code in (0, -signal.SIGTERM) else 2
    except KeyboardInterrupt:
        print("\nStopping ionto-cds app...", file=sys.stderr, flush=True)
        stop(process)
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)
