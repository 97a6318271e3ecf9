"""`python -m svd`: the command line.

Importing the engine (torch, diffusers) takes seconds; a Ctrl-C meanwhile ends with the same one line as later.
"""

import sys

try:
    from .cli import main
except KeyboardInterrupt:
    print("error: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
