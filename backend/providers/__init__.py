"""Side effects behind small protocols: sandbox implementations (default) and real adapters."""
