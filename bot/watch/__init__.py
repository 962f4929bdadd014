"""The watch list: the config file's entries with run-time changes on top, the effective config, and /status."""
