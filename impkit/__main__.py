"""``python -m impkit``: see :mod:`impkit.cli`."""
import sys

from impkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
