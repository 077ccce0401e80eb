"""Hostile servers and hostile inputs at the edges: rate limits, concurrent alert senders,
out-of-range parameters, CSV formula injection and unreadable failure reasons."""
