"""Delivers routing events to the browsers (filled in with the consumer)."""
