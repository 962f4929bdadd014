"""Blocking network calls off the event loop, in threads that never hold up the daemon's exit.

`asyncio.to_thread` uses the loop's default executor, and `asyncio.run` joins its threads on the way out: a request
stuck on a hung server would then delay shutdown by up to the request timeout. A network read holds no state worth
waiting for (nothing is stored until its answer is back on the loop), so it runs in a daemon thread that a shutdown
simply abandons. Database work keeps using `asyncio.to_thread`, which shutdown waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def run_detached(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `func` in a new daemon thread and await its result; cancelling the await abandons the thread."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(value: T | None, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def target() -> None:
        try:
            value = context.run(func, *args, **kwargs)
        except BaseException as exc:  # handed to the awaiting coroutine, whatever it is
            error: BaseException = exc
            # RuntimeError: the loop closed while we were blocked, so nobody waits for the answer any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, None, error)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, value, None)

    threading.Thread(target=target, name=f"net:{getattr(func, '__name__', 'call')}", daemon=True).start()
    return await future
