"""`merkwacht worker`: one of several processes that share the polls, digests and alerts through PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import socket

import click

from bot.cli.context import Context


@click.command()
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Polls this worker runs at once.")
@click.option("--stalled-after", default=30.0, show_default=True, type=click.FloatRange(5.0),
              help="Seconds without a heartbeat after which another worker takes over a worker's jobs.")
@click.pass_obj
def worker(ctx: Context, concurrency: int, stalled_after: float) -> None:
    """Run a worker: poll, send digests and check alerts with the other workers on the same PostgreSQL database."""
    from bot.worker.app import WorkerSettings, WorkerSetupError, build, prepare_database

    settings = WorkerSettings(stalled_after=stalled_after, heartbeat=max(stalled_after / 6, 1.0))
    try:
        prepare_database(ctx.config.storage.url)
        app, application = build(ctx.config, settings=settings)
    except WorkerSetupError as exc:
        raise click.ClickException(str(exc)) from None

    async def main() -> None:
        async with app.open_async():
            try:
                await app.run_worker_async(
                    name=f"{socket.gethostname()}-{os.getpid()}",
                    concurrency=concurrency,
                    delete_jobs="successful",
                    update_heartbeat_interval=settings.heartbeat,
                    stalled_worker_timeout=settings.stalled_after,
                )
            finally:
                if application.discord is not None:
                    await application.discord.close()
                application.close()

    asyncio.run(main())
