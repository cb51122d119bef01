"""``promptevc`` command line: argparse subcommands, no logic of its own.

Each subcommand lives in ``promptevc/commands/<name>.py`` and defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; this module discovers them, parses the
command line, sets up logging and turns user errors into one line and a non-zero exit.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import pkgutil
import re
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from promptevc import __version__
from promptevc.errors import PromptEVCError, describe_os_error, one_line

log = logging.getLogger("promptevc")

EXIT_USER_ERROR = 2
EXIT_FAILED = 1


def _command_modules() -> list:
    import promptevc.commands as pkg

    mods = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"promptevc.commands.{info.name}")
        if hasattr(mod, "NAME") and hasattr(mod, "run"):
            mods.append(mod)
    return mods


class _UsageError(SystemExit):
    """A bad command line; :func:`main` returns its code instead of exiting."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``promptevc convert: error: ... (see --help)``."""

    def error(self, message: str) -> NoReturn:
        # "argument --max-seconds: 'nan' is not a finite number" -> "--max-seconds nan: is not a finite number"
        m = re.match(r"argument ([^:]+): '([^']*)' (.*)$", message, re.S)
        if m:
            message = f"{m[1].split('/')[-1]} {m[2]}: {m[3]}"
        print(f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')", file=sys.stderr)
        raise _UsageError(EXIT_USER_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="promptevc",
        description=(
            "Prompt-controlled emotional voice conversion: keep the words and the speaker of a "
            "recording, change how it feels, steered by free text."
        ),
        epilog="Run 'promptevc COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"promptevc {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for mod in _command_modules():
        p = sub.add_parser(
            mod.NAME,
            help=mod.HELP,
            description=getattr(mod, "DESCRIPTION", mod.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of each record.

    ``sys.stderr`` may be replaced after the handler is made (pytest capture, notebooks, the
    demo server); holding on to the old, possibly closed, stream would lose log lines.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: D401
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it; ignore
        pass


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    root = logging.getLogger("promptevc")
    root.setLevel(level)
    console = [h for h in root.handlers if isinstance(h, _StderrHandler)]
    if not console:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        root.addHandler(handler)
        console = [handler]
    for h in console:
        h.setLevel(level)
    # Third-party chatter (transformers, urllib3) stays quiet unless -vv.
    for name in ("transformers", "urllib3", "huggingface_hub", "numba", "matplotlib", "httpx"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose > 1 else logging.ERROR)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that ``finally`` blocks remove temp files."""


@contextlib.contextmanager
def _sigterm_as_interrupt():
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise _Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # not allowed here (embedded interpreters)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fail(command: str, message: str, code: int = EXIT_USER_ERROR) -> int:
    print(f"promptevc {command}: error: {one_line(message)}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; every expected failure becomes one line on stderr and a non-zero exit.

    Exit status: 0 done, 1 some items of a batch failed, 2 a user error (bad input, option,
    file or release), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        return int(err.code)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_USER_ERROR
    setup_logging(args.verbose, args.quiet)
    command = args.command
    try:
        with _sigterm_as_interrupt():
            return int(args._run(args) or 0)
    except PromptEVCError as err:
        return _fail(command, str(err))
    except OSError as err:  # permission denied, disk full, read-only FS, ... anywhere: path + reason
        log.debug("OSError", exc_info=True)
        return _fail(command, describe_os_error(err))
    except MemoryError:
        return _fail(command, "out of memory; the input or model is too large for this machine (split the input, "
                              "or lower --max-seconds)")
    except UnicodeError as err:
        log.debug("UnicodeError", exc_info=True)
        return _fail(command, f"text that is not valid UTF-8 ({one_line(str(err), 160)})")
    except RecursionError:
        return _fail(command, "input nested too deeply to process (a malformed config or release?)")
    except _Terminated:
        print(f"promptevc {command}: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"promptevc {command}: interrupted", file=sys.stderr)
        return 130


def entry_point() -> None:  # console_scripts target
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
