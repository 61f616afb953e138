"""concbench: a concurrency benchmark suite for FastAPI, Flask, Go and Node."""
