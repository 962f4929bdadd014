"""The operations endpoint: `/healthz` for health checks and `/metrics` for Prometheus, on a loopback port.

aiohttp on the daemon's own event loop: the endpoint answers as long as the loop does, and says 503 when the
scheduler is not running or the database does not answer in time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)

DB_PING_TIMEOUT = 5.0
"""Seconds the database gets to answer `SELECT 1` before /healthz calls it down."""


class OpsServer:
    """Serves /healthz and /metrics until `stop()`."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        scheduler_running: Callable[[], bool],
        db_ping: Callable[[], bool],
        degraded: Callable[[], dict[str, str]] = dict,
        host: str = "127.0.0.1",
        port: int = 9108,
    ) -> None:
        self.metrics = metrics
        self._scheduler_running = scheduler_running
        self._db_ping = db_ping
        self._degraded = degraded
        """What works but has stopped doing part of its job (a refresh failing for hours): shown, still 200."""
        self.host = host
        self.port = port
        """The bound port once started (the system's pick when 0 was asked for)."""
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        """The aiohttp application (also used directly by tests)."""
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_page)
        return app

    async def health(self) -> dict[str, Any]:
        """What /healthz reports: whether the scheduler runs and the database answers."""
        scheduler = self._scheduler_running()
        try:
            database = await asyncio.wait_for(asyncio.to_thread(self._db_ping), DB_PING_TIMEOUT)
        except TimeoutError:
            database = False
        degraded = self._degraded()
        status = "ok" if scheduler and database else "unavailable"
        body: dict[str, Any] = {"status": status, "scheduler": scheduler, "database": database}
        if degraded:
            # A restart would not fix a server that cannot be refreshed: say so, but do not fail the health check.
            body["degraded"] = degraded
            if status == "ok":
                body["status"] = "degraded"
        return body

    async def healthz(self, request: web.Request) -> web.Response:
        """200 while the scheduler runs and the database answers (maybe `degraded`); 503 otherwise."""
        body = await self.health()
        return web.json_response(body, status=503 if body["status"] == "unavailable" else 200)

    async def metrics_page(self, request: web.Request) -> web.Response:
        """The metrics in Prometheus' text format."""
        self.metrics.scheduler_running.set(1 if self._scheduler_running() else 0)
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        """Bind and serve; a port already in use is logged and the daemon runs on without the endpoint."""
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            log.error("cannot serve /healthz and /metrics on %s:%d: %s", self.host, self.port, exc)
            await runner.cleanup()
            return
        self._runner = runner
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, self.port)

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
