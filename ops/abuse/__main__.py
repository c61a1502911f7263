"""`python -m ops.abuse [--sections timing,ssrf,oversize,slowloris] ...`: see ops/abuse/__init__.py."""

import sys

from ops.abuse.cli import main

sys.exit(main())
