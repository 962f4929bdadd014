"""The daemon: builds every service once from the config, schedules the jobs, runs them and stops cleanly."""
