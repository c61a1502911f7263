"""`python -m ops.services -- COMMAND` (ops/services/cli.py)."""

import sys

from ops.services.cli import main

sys.exit(main())
