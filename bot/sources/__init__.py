"""Sources: timelines that turn a server's answers into normalised posts and opaque ids (the core sees no HTTP)."""
