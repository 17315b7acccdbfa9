"""What keeps the app's Voila server from leaking kernels (loaded by Voila by dotted name).

Voila starts one kernel per page view. A closing or reloading page asks Voila to shut its kernel
down (a ``beforeunload`` beacon to ``/voila/api/shutdown/<id>``), but that POST carries the
``_xsrf`` cookie only if the server ever set one, and Voila's page never does: every beacon was
refused (403) and every page view left its kernel running. :class:`PageIdentityProvider` sets the
cookie on each authenticated page. What no beacon reaches (a crashed tab, a lost request) is
culled by Jupyter Server's idle culler; :class:`PageKernelManager` keeps the culler off a kernel
just handed to a page whose websocket has not connected yet.
"""

from __future__ import annotations

import time
from typing import Any

from jupyter_server.auth.identity import PasswordIdentityProvider, User
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web


class PageIdentityProvider(PasswordIdentityProvider):
    """Jupyter Server's token login, plus the ``_xsrf`` cookie on every authenticated page
    load, so the page's shutdown beacon is accepted."""

    async def _get_user(self, handler: web.RequestHandler) -> User | None:
        user = await super()._get_user(handler)
        if user is not None and handler.request.method == "GET":
            handler.current_user = user  # as Jupyter Server's prepare() does next
            handler.xsrf_token  # noqa: B018 (reading it sets the cookie: tornado's mechanism)
        return user


PAGE_LOAD_S = 60.0
"""Longest a page may take from taking its kernel to opening the kernel's websocket (about 8 s
seen on a loaded 2-core machine)."""


class PageKernelManager(AsyncMappingKernelManager):
    """Jupyter Server's kernel manager whose idle culler spares a kernel for one idle timeout
    (at least :data:`PAGE_LOAD_S`) after the culler first sees it outside Voila's pool of
    preheated kernels.

    A preheated kernel may have sat idle for hours; when a page takes it, it has no connection
    until the page's websocket opens seconds later, and a culler run in that gap would shut
    down the kernel of a page that is just opening (its widgets never appear).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self._first_seen: dict[str, float] = {}

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """Cull as Jupyter Server does, once the kernel's grace period is over.

        Voila's pool manager (a subclass) returns before this for kernels still in its pool.
        """
        now = time.monotonic()
        self._first_seen = {k: t for k, t in self._first_seen.items() if k in self._kernels}
        seen = self._first_seen.setdefault(kernel_id, now)
        if now - seen < max(self.cull_idle_timeout, PAGE_LOAD_S):
            return
        await super().cull_kernel_if_idle(kernel_id)  # type: ignore[no-untyped-call]
