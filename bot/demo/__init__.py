"""The self-contained tour (`merkwacht demo`): local Mastodon and Discord servers, realistic posts, the real daemon."""
