"""`python -m kallisti` is the `kallisti` command."""

from kallisti.cli import main

main()
