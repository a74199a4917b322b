"""Tests of the Flightdeck TUI: Pilot against a respx-mocked API, and the HTTP client."""
