"""`python -m kerasfer.export` (see `kerasfer.export.cli`)."""

import sys

from kerasfer.export.cli import main

sys.exit(main())
