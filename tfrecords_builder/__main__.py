"""`python -m tfrecords_builder`: see `tfrecords_builder.cli` and `--help`."""

import sys

from tfrecords_builder.cli import main

if __name__ == "__main__":
    sys.exit(main())
