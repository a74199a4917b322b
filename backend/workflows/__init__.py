"""Temporal code: the registry and one package per domain (registrar, workflow, activities, messages)."""
