"""Sends stored replies through the Graph API, off the request (filled in by the sender work)."""
