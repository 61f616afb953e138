"""A small FastAPI service with the four shapes of route whose limits differ:

- GET /async_sleep   `async def` awaiting asyncio.sleep: on the event loop, bound by nothing
- GET /db            `def` querying PostgreSQL through SQLAlchemy (pg_sleep 50 ms): in anyio's
                     40 threads, each waiting for one of the engine's 5 + 10 connections
- GET /blocking      `async def` calling time.sleep(0.05): blocks the event loop, one at a time
- GET /health        `def` health check: queued behind the busy threads when /db is loaded

DATABASE_URL is the SQLAlchemy URL, e.g. postgresql+psycopg://user:pass@127.0.0.1:5432/db.
"""

import asyncio
import os
import time

from fastapi import FastAPI
from sqlalchemy import create_engine, text

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

# SQLAlchemy's default pool: QueuePool, 5 connections kept + 10 overflow
engine = create_engine(DATABASE_URL)
app = FastAPI()


@app.get("/async_sleep")
async def async_sleep() -> dict[str, bool]:
    await asyncio.sleep(0.05)
    return {"ok": True}


@app.get("/db")
def db() -> dict[str, int]:
    with engine.connect() as conn:
        backend = conn.execute(text("SELECT pg_backend_pid() FROM pg_sleep(0.05)")).scalar_one()
    return {"backend": backend}


@app.get("/blocking")
async def blocking() -> dict[str, bool]:
    time.sleep(0.05)  # the mistake: a blocking call inside async def stalls every request
    return {"ok": True}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
