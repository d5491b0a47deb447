"""Fill a database with a realistic demo deployment: `python seed.py --help` (also `allocator seed`)."""
import sys

from allocator.seed_cli import main

if __name__ == "__main__":
    sys.exit(main())
