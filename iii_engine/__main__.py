"""``python -m iii_engine``: the same as the ``iii`` command."""

import sys

from iii_engine.cli.main import main

sys.exit(main())
