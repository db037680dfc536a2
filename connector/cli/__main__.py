"""`python -m connector.cli`: the same command line as the `connector` entry point."""

import sys

from connector.cli import main

sys.exit(main())
