"""Ingest: the poll loop that reads a timeline from its cursor, matches and analyses each post, and stores it."""
