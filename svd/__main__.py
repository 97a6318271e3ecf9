"""`python -m svd`: the command line.

Importing the engine (torch, diffusers) takes seconds; a Ctrl-C meanwhile ends at once with the same one line as
later. It must not arrive as a KeyboardInterrupt: raised inside an extension's initialisation, that can leave the
interpreter to die of the signal or abort instead of exiting."""

import os
import signal
import sys


def _interrupted(signum, frame) -> None:
    sys.stderr.write("error: interrupted\n")
    sys.stderr.flush()
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted)
from .cli.main import main  # noqa: E402

signal.signal(signal.SIGINT, signal.default_int_handler)  # from here a Ctrl-C is main()'s to tell
sys.exit(main())
