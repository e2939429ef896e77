"""``python -m tokenclean``: the same as the ``tokenclean`` command."""

from tokenclean.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
