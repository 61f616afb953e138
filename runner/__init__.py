"""concbench: a concurrency benchmark suite for FastAPI, Flask and Go."""
