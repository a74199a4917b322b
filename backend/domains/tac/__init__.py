"""The Temporal action controller: worker registrations and TAC hook runs."""
