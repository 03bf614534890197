"""``python -m lab``: the lab over stdio; ``python -m lab http --port 8765``: over HTTP."""

import sys

from lab.server import main

main(sys.argv)
