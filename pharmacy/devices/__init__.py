"""Simulated bench devices for tests and the demo (the real ones are on serial lines)."""
