"""`python -m zoo` runs the CLI."""

import sys

from zoo.cli import main

sys.exit(main())
