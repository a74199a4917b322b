"""Providers the lab workflow uses: blueprints and lab environments."""
