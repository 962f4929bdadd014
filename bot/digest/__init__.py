"""The daily digest: query a day's stored posts, build plain data, render Discord payloads, chart the trend."""
