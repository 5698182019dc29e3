"""`python -m burstscaler`: the same as the `burstscaler` command."""

from burstscaler import cli

cli.main()
