"""Adaptive polling: each timeline as often as its posts arrive, within its instance's budgets, none starved."""
