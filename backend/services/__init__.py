"""Use cases the API calls: start, signal, list with live progress, audit."""
