"""Running unattended: the health and metrics endpoint, and the metrics themselves."""
