"""``python -m dualreg`` is the ``dualreg`` command."""

import sys

from dualreg.cli import main

sys.exit(main())
