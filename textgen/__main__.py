"""`python -m textgen ...`: see textgen.cli."""

from textgen.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
