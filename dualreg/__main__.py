"""``python -m dualreg`` is the ``dualreg`` command.

An interrupted command exits with status 130 through ``os._exit`` after flushing its
output: once a KeyboardInterrupt has crossed a C extension's embedded Python (numpy and torch
run some at import), CPython would otherwise end the process by re-raising SIGINT, status
-2, even though the interrupt was handled and reported.
"""

import os
import sys


def _interrupted() -> None:
    print("dualreg: interrupted", file=sys.stderr)
    _exit(130)


def _exit(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


try:
    from dualreg.cli import main
except KeyboardInterrupt:  # Ctrl-C while the command is still importing: one line, 130
    _interrupted()

status = main()
if status == 130:
    _exit(130)
sys.exit(status)
