"""``python -m bayescale.cli``: the command line (same as the ``bayescale`` script)."""

import sys

from bayescale.cli import main

sys.exit(main())
