"""Merkwacht: social listening on the fediverse and Discord. One package per stage; see docs/architecture.md."""
