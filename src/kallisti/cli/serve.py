"""`kallisti serve`, `kallisti worker`, `kallisti migrate`: running the service."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated, Any

import typer

from kallisti.cli._common import (
    configure_logging,
    console,
    load_settings,
    logger,
    run_event_loop,
)

__all__ = ["migrate", "run_worker", "serve"]


def _warn_open_access() -> None:
    logger.warning(
        "ACCESS CONTROL IS OFF: anyone who can reach this port can run chaos "
        "with this service's credentials. Bind to 127.0.0.1 or configure "
        "authentication before exposing it."
    )


def _server_keeping_signals(config: Any, on_exit: Callable[[], None]) -> Any:
    """A uvicorn server that does not re-raise SIGTERM once it has stopped.

    uvicorn re-raises the signal after serving, which ends the process before
    the in-process worker has stopped its trials (they would come back as lost
    after a restart); here the worker closes them first, `stop_reason` shutdown.
    `on_exit` runs at the signal: uvicorn waits for open responses to finish,
    so event streams must learn of the shutdown and end.
    """
    import uvicorn

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            on_exit()
            super().handle_exit(sig, frame)

        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.handle_exit, signum, None)
            try:
                yield
            finally:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(signum)

    return _Server(config)


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to bind (default: KALLISTI_HOST, else 127.0.0.1).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port to bind (default: KALLISTI_PORT, else 8080).",
            show_default=False,
        ),
    ] = None,
    worker: Annotated[bool, typer.Option(help="Run a worker in this process.")] = True,
) -> None:
    """Migrate the database, then serve the API (and a worker) until stopped."""
    import uvicorn

    from kallisti.engine.heap import limit_malloc_arenas
    from kallisti.service import build_service

    limit_malloc_arenas()
    configure_logging()
    settings = load_settings(host=host, port=port, run_worker=worker)
    try:
        service = build_service(settings)
    except ValueError as err:  # access-control settings that cannot work
        console.print(f"[red]Invalid configuration:[/red] {err}")
        raise typer.Exit(2) from None
    service.store.migrate()
    if not settings.access_control:
        _warn_open_access()
    _freeze_startup_objects()

    async def run() -> None:
        server = _server_keeping_signals(
            uvicorn.Config(
                service.app,
                host=settings.host,
                port=settings.port,
                log_level="info",
                access_log=False,
            ),
            on_exit=service.app.state.kallisti.closing.set,
        )
        shutdown = asyncio.Event()
        worker_task = (
            asyncio.create_task(service.worker.run(shutdown))
            if settings.run_worker
            else None
        )
        try:
            await server.serve()
        finally:
            shutdown.set()
            if worker_task is not None:
                await worker_task
            service.store.close()

    run_event_loop(run())


def _freeze_startup_objects() -> None:
    """Keep what start-up built (modules, models, routes: most of the heap, and
    alive until exit) out of the cycle collector's full passes, which would
    otherwise walk all of it each time a busy request (a list of 10,000 trials
    builds some 150,000 objects) triggers one."""
    gc.collect()
    gc.freeze()


def run_worker(
    tasks: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Workers in this process, each an asyncio task with its own "
            "claims, leases and listener.",
        ),
    ] = 1,
) -> None:
    """Run a standalone worker against KALLISTI_DATABASE_URL until SIGTERM/SIGINT.

    On shutdown the trials it runs are stopped: their post steps run first.
    """
    from kallisti.engine.heap import limit_malloc_arenas
    from kallisti.service import build_engine
    from kallisti.store import Store
    from kallisti.worker import Worker

    limit_malloc_arenas()
    configure_logging()
    settings = load_settings()
    store = Store(settings.database_url)
    store.migrate()
    engine = build_engine(settings)
    workers = [Worker(settings, store, engine) for _ in range(tasks)]
    _freeze_startup_objects()

    async def run() -> None:
        shutdown = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, shutdown.set)
        await asyncio.gather(*(worker.run(shutdown) for worker in workers))

    try:
        run_event_loop(run())
    finally:
        store.close()


def migrate() -> None:
    """Bring the database schema up to date (safe to run from several hosts)."""
    from kallisti.store import Store

    configure_logging()
    settings = load_settings()
    store = Store(settings.database_url)
    store.migrate()
    store.close()
    console.print("Database is up to date.")
