"""`python -m gnomon ...` is the `gnomon` command."""

import sys

from gnomon.cli import main

sys.exit(main())
