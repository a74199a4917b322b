"""Flightdeck's terminal UI: a Textual app that is only an HTTP client of the Flightdeck backend."""
