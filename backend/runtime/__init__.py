"""Process runtime: the embedded Temporal dev server and the backend/worker supervisor."""
