"""`python -m hypermod ...` runs the command line, as the `hypermod` script does."""

import sys

from hypermod.cli import main

sys.exit(main())
