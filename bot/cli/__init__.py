"""The `merkwacht` command: every subcommand, and the one place the config file is loaded for them."""
