"""`python -m observability` is the same as the `obs` console script."""

from observability.cli import main

if __name__ == "__main__":
    main()
