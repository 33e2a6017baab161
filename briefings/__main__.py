"""``python -m briefings`` and the console script."""

import sys

from briefings.cli import main


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
