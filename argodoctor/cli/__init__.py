"""The argodoctor command line. One module per command (check, fix, report, cronjob, snapshot, role, list,
explain, completion), each with `run(args) -> int`, imported only when that command runs: `--help` and
`list` must start fast (issue 11). The parser is in parser, the flags commands share in options, what
commands share at run time in common."""
from __future__ import annotations

import atexit
import importlib
import logging
import os
import sys

from ..errors import KubeError, UserError
from . import common
from .parser import build_parser

COMMANDS = ("check", "fix", "list", "snapshot", "role", "report", "cronjob", "explain", "completion")


def entry() -> int:
    """The console scripts' entry point: main(), then an exit that frees nothing one by one."""
    common.PARKED = []
    code = main()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # a closed pipe (argodoctor check | head): nothing more to say
        code = code or 1
    atexit._run_exitfuncs()  # what a normal exit runs: temporary files, logging's flush
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    if args.no_color:
        os.environ["NO_COLOR"] = "1"  # rich honours it for every console
    # argodoctor's own loggers only: the kubernetes client logs response bodies (secret values).
    logger = logging.getLogger("argodoctor")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    logger.propagate = False
    # Libraries' warnings (urllib3's InsecureRequestWarning, the kubernetes client's deprecations) go to
    # the -v log, never as extra lines on stderr.
    logging.captureWarnings(True)
    warnings_log = logging.getLogger("py.warnings")
    warnings_log.handlers = [handler] if args.verbose else [logging.NullHandler()]
    warnings_log.propagate = False
    try:
        return importlib.import_module(f"{__name__}.{args.command}").run(args)
    except UserError as e:
        print(f"argodoctor: {e}", file=sys.stderr)
        return 2
    except KubeError as e:
        print(f"argodoctor: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("argodoctor: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of argodoctor's: exit 3, the traceback only with -v
        if args.verbose:
            logger.exception("internal error")
        print(f"argodoctor: internal error: {type(e).__name__} (run with -v for the traceback, and report it)",
              file=sys.stderr)
        return 3
