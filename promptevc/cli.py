"""``promptevc`` command line: argparse subcommands, no logic of its own.

Each subcommand lives in ``promptevc/commands/<name>.py`` and defines ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; this module discovers them, parses the
command line, sets up logging and turns user errors into one line and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from promptevc import __version__
from promptevc.errors import PromptEVCError

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_USER_ERROR
    setup_logging(args.verbose, args.quiet)
    try:
        return int(args._run(args) or 0)
    except PromptEVCError as err:
        print(f"promptevc {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"promptevc {args.command}: interrupted", file=sys.stderr)
        return 130


def entry_point() -> None:  # console_scripts target
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
