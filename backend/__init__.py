"""Flightdeck backend: HTTP API, Temporal workers and the embedded runtime."""

__version__ = "0.1.0"
