"""The CLI's one error boundary: every failure that reaches the user is one or two lines saying what, where and what to
do; the traceback only with `--log-level DEBUG`; under `--log-format json` the error is a JSON log record too."""

from __future__ import annotations

import errno
import logging
import sys
from typing import Any, NoReturn

import click

from bot.config import ConfigError
from bot.config.schema import SecretError
from bot.ops.logs import JsonFormatter

log = logging.getLogger("bot.cli")

INTERRUPTED = 130
"""The shell's exit status for a command ended by Ctrl-C."""


def _json_logs() -> bool:
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


def _os_message(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    where = exc.filename
    if exc.errno == errno.ENOSPC:
        return f"cannot write {where or 'the output'}: {what}; free some space or write elsewhere"
    if exc.errno == errno.EADDRINUSE:
        return (f"{what}: another program (another Merkwacht?) listens on the [ops] http_host/http_port; stop it, "
                "or choose another port (0 picks a free one)")
    if where is not None:
        hint = {
            errno.ENOENT: "check the path (its folder must exist)",
            errno.EACCES: "check its permissions",
            errno.EROFS: "the file system is read-only; write elsewhere",
            errno.EISDIR: "give a file name, not a folder",
        }.get(exc.errno or 0, "check the path")
        return f"cannot use {where}: {what}; {hint}"
    return f"{what} (an operating-system error)"


def describe(exc: BaseException, storage_url: str | None = None) -> str:
    """What to tell the user about `exc`: one or two lines, with where and what to do; never a secret."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import StorageError, explain

    if isinstance(exc, ConfigError):
        return f"the config cannot be used:\n{exc}"
    if isinstance(exc, StorageError | SecretError):
        return str(exc)
    if isinstance(exc, SQLAlchemyError):
        return explain(exc, storage_url or "")
    if isinstance(exc, OSError):
        return _os_message(exc)
    if isinstance(exc, ModuleNotFoundError):
        return f"the Python module {exc.name} is missing; reinstall Merkwacht with its extras (see the README)"
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return (f"unexpected {type(exc).__name__}: {first}\n"
            "run again with --log-level DEBUG to see the traceback, and please report it")


def fail(message: str, exc: BaseException | None = None, code: int = 1) -> NoReturn:
    """Tell the user `message` (as a JSON log record under JSON logs) and exit with `code`."""
    debug = log.isEnabledFor(logging.DEBUG)
    if _json_logs():
        log.error(message, exc_info=exc if debug and exc is not None else None)
    else:
        if debug and exc is not None:
            log.debug("traceback", exc_info=exc)
        click.echo(f"Error: {message}", err=True)
    sys.exit(code)


class GuardedGroup(click.Group):
    """A click group whose commands never end in a traceback: known failures become clear messages."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn what it raises into one or two lines and an exit status."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.UsageError):
            raise
        except click.ClickException as exc:
            if not _json_logs():
                raise
            fail(exc.format_message(), code=exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", code=INTERRUPTED)
        except Exception as exc:
            fail(describe(exc, _storage_url(ctx)), exc)


def _storage_url(ctx: click.Context) -> str | None:
    obj = ctx.find_root().obj
    config = getattr(obj, "_config", None)
    storage = getattr(config, "storage", None)
    return getattr(storage, "url", None)
