"""Running unattended: backoff, logs, metrics and the health endpoint, failures that must not be silent, memory."""
