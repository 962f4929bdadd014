"""Mastodon-API servers: hashtag timelines, statuses and their HTML to posts, and each instance's request budget."""
