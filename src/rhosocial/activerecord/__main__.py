"""``python -m rhosocial.activerecord``: list backends, or check one with the conformance kit."""
from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
