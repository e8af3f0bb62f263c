"""``python -m tcpsim``: the same as the ``tcpsim`` command."""

import sys

from .cli import main

sys.exit(main())
