"""Small shared helpers (signal synthesis for tests and benchmarks, logging)."""
