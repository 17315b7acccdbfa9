"""The app server's launch configuration: kernels that do not outlive their page."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ionto_cds.errors import UsageError
from ionto_cds.serve import CULL_INTERVAL_S, IDLE_TIMEOUT_S, culling, write_server_config


def test_culling_defaults_and_overrides() -> None:
    assert culling({}) == (IDLE_TIMEOUT_S, CULL_INTERVAL_S)
    assert culling({"IONTO_CDS_KERNEL_IDLE_TIMEOUT": "4",
                    "IONTO_CDS_KERNEL_CULL_INTERVAL": " 1 "}) == (4, 1)


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "ten", "1e3"])
def test_culling_refuses_anything_but_whole_seconds(text: str) -> None:
    with pytest.raises(UsageError, match="IONTO_CDS_KERNEL_CULL_INTERVAL must be a whole"):
        culling({"IONTO_CDS_KERNEL_CULL_INTERVAL": text})


def test_server_config_culls_unconnected_kernels_and_is_private(tmp_path: Path) -> None:
    write_server_config(tmp_path, "secret", idle_timeout=7, cull_interval=2)
    path = tmp_path / "voila.json"
    assert path.stat().st_mode & 0o777 == 0o600
    config = json.loads(path.read_text())
    assert config["MappingKernelManager"] == {"cull_idle_timeout": 7, "cull_interval": 2,
                                              "cull_connected": False, "cull_busy": False}
    assert config["Voila"]["token"] == "secret"
    assert config["VoilaExecutor"]["iopub_timeout"] >= 30  # a busy server keeps the widgets
    assert config["Voila"]["identity_provider_class"].endswith("PageIdentityProvider")
    assert config["VoilaConfiguration"]["multi_kernel_manager_class"].endswith(
        "PageKernelManager")


def test_a_kernel_just_handed_to_a_page_is_spared_for_one_idle_timeout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

    from ionto_cds import serve_kernels
    from ionto_cds.serve_kernels import PageKernelManager

    culled: list[str] = []

    async def cull(_self: object, kernel_id: str) -> None:
        culled.append(kernel_id)

    monkeypatch.setattr(AsyncMappingKernelManager, "cull_kernel_if_idle", cull)
    clock = [1000.0]
    monkeypatch.setattr(serve_kernels.time, "monotonic", lambda: clock[0])
    manager = PageKernelManager(cull_idle_timeout=100)
    manager._kernels["k1"] = object()
    asyncio.run(manager.cull_kernel_if_idle("k1"))  # first seen outside the pool
    clock[0] += 99
    asyncio.run(manager.cull_kernel_if_idle("k1"))
    assert culled == []
    clock[0] += 1
    asyncio.run(manager.cull_kernel_if_idle("k1"))
    assert culled == ["k1"]
    short = PageKernelManager(cull_idle_timeout=3)  # a page may take a while to connect
    short._kernels["k3"] = object()
    asyncio.run(short.cull_kernel_if_idle("k3"))
    clock[0] += serve_kernels.PAGE_LOAD_S - 1
    asyncio.run(short.cull_kernel_if_idle("k3"))
    assert culled == ["k1"]
    del manager._kernels["k1"]  # shut down: its grace entry goes at the next look
    manager._kernels["k2"] = object()
    asyncio.run(manager.cull_kernel_if_idle("k2"))
    assert set(manager._first_seen) == {"k2"}
