"""The root typer app, its global options and the console entry point.

Command modules (and plugins, through ``connector_register_commands``) add their commands
to ``app``; they reach the chosen config through ``settings()`` and ``runtime()``.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from connector.cli.output import err, out
from connector.config import Settings, load_settings
from connector.context import LinkContext
from connector.errors import ConnectorError
from connector.logs import LogFormat, configure_logging
from connector.plain import error_line
from connector.runtime import Runtime
from connector.secrets import scrub

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)

LinkOpt = Annotated[str | None, typer.Option(
    "--link", "-l", help="Link name (default: every link, or the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


DISTRIBUTION = "collection-connector"


MAX_ID = 2**63 - 1
"""The largest id the store holds (a signed 64-bit integer)."""


def checked_ids(values: list[int] | int | None) -> Any:
    """A typer callback: an id out of the store's range is refused in one line, before a
    query the database would reject with a traceback."""
    for value in [values] if isinstance(values, int) else values or []:
        if not 1 <= value <= MAX_ID:
            raise ConnectorError(f"{value} is not an id: ids are whole numbers from 1 to "
                                 f"{MAX_ID}")
    return values


class State:
    config: Path | None = None


def show_version(wanted: bool) -> None:
    if wanted:
        out.print(f"connector {installed_version(DISTRIBUTION)}", highlight=False)
        raise typer.Exit()


@app.callback()
def main_options(
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Config file (else $CONNECTOR_CONFIG, ./connector.toml, "
        "the built-in mock demo link).")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True,
                                         help="More log output on stderr (-v, -vv).")] = 0,
    log_format: Annotated[LogFormat, typer.Option(
        "--log-format", help="Log lines on stderr as JSON (one object a line) or console "
        "text; auto: JSON unless stderr is a terminal.")] = LogFormat.AUTO,
    version: Annotated[bool, typer.Option(
        "--version", callback=show_version, is_eager=True,
        help="Print the installed version and exit.")] = False,
) -> None:
    """Connect an ERP with a debt-collection agency: overdue invoices become collection cases,
    and the agency's status comes back."""
    State.config = config
    configure_logging(verbose, log_format)


def settings(*, skip_broken: bool = False) -> Settings:
    """The settings of the config file chosen by ``--config`` (or its defaults)."""
    return load_settings(State.config, skip_broken=skip_broken)


def runtime() -> Runtime:
    """The runtime of the chosen config; on PostgreSQL, request budgets are shared with
    the other processes on the store (``connector.budget``)."""
    from connector.budget import share_through

    rt = Runtime(settings())
    share_through(rt.store)
    return rt


@contextmanager
def link_context(name: str | None, dry_run: bool = False) -> Iterator[LinkContext]:
    with runtime().link(name, dry_run=dry_run) as ctx:
        yield ctx


def _ancestor(name: str) -> Any:
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


USAGE_ERROR = _ancestor("UsageError")
CLICK_ERROR = _ancestor("ClickException")
"""The click typer runs on (its own copy in newer releases), found through the one error
class typer exports, so that usage errors become one line whichever it is."""


def main() -> None:
    """Console entry point: known errors become one plain line and exit status 2; anything
    else a traceback without local variables and with every secret scrubbed."""
    try:
        code = app(standalone_mode=False)
    except USAGE_ERROR as exc:  # a missing argument, an unknown option, a bad value
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help, printed, is the answer
            sys.exit(exc.exit_code)
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx else ""
        fail(error_line(exc.format_message()) + where)
    except CLICK_ERROR as exc:
        fail(error_line(exc.format_message()))
    except typer.Abort:
        err.print("Aborted.")
        sys.exit(1)
    except ConnectorError as exc:
        fail(error_line(exc))
    except SQLAlchemyError as exc:
        # The driver's first line names the problem; never the URL, which may hold a password.
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"the store cannot be used: {type(exc).__name__}: {error_line(first)}")
    except OSError as exc:  # a full disk, a read-only file system: files are written whole
        where = f"{exc.filename}: " if exc.filename else ""
        fail(error_line(f"{where}{exc.strerror or exc}"))
    except Exception:
        err.print(scrub(traceback.format_exc()), markup=False, highlight=False,
                  soft_wrap=True, emoji=False)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)  # --help, a typer.Exit, or done


def fail(message: str) -> NoReturn:
    """The one-line ``error: …`` and exit status 2."""
    err.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True, highlight=False)
    sys.exit(2)
