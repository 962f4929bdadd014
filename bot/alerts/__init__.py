"""Alerts within minutes: posts that need an answer now, volume spikes and sentiment turns, sent as they happen."""
