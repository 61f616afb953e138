"""Implementation manifests (`impls/<name>/impl.yaml`): found, validated, never listed in code.

Adding an implementation is adding a folder; the runner discovers it here.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import BenchError
from .kinds import KINDS
from .yamlfile import load_yaml, raise_validation
from ..terms import Concurrency, Lock, Runs

PLACEHOLDERS = ("{port}", "{workers}", "{threads}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)




class Endpoint(_Strict):
    # where the work runs and what bounds it (runner/model/predict.py, docs/formats.md)
    runs: Runs
    pool: str | None = None          # with runs: pool, a key of the manifest's `pools`
    via: str | None = None           # the connection pool a request waits in (database, HTTP)
    lock: Lock | None = None         # default: the manifest's `lock`
    label: str | None = None         # how a developer says it, e.g. "`def` handler"
    note: str | None = None

    @model_validator(mode="after")
    def _pool_named(self) -> "Endpoint":
        if self.runs == Runs.POOL and not self.pool:
            raise ValueError("runs: pool needs `pool`, the name of the pool it runs in")
        if self.runs != Runs.POOL and self.pool:
            raise ValueError(f"pool is only for runs: pool (this endpoint runs: {self.runs})")
        return self


Argv = list[str | int]


def _argv(value: list) -> list[str]:
    if not value:
        raise ValueError("expected a non-empty list of arguments")
    return [str(v) for v in value]


# how one worker admits requests: an event loop or a thread or task per request admits
# every connection it holds; `threads` admits that many at once


class Server(_Strict):
    argv: Argv
    concurrency: Concurrency
    workers: int | Literal["auto"] = Field(1)
    threads: int | None = None
    note: str | None = None

    @field_validator("argv")
    @classmethod
    def _needs_port(cls, argv: list) -> list[str]:
        argv = _argv(argv)
        if not any("{port}" in a for a in argv):
            raise ValueError("argv must contain the {port} placeholder")
        return argv

    @field_validator("workers", "threads")
    @classmethod
    def _positive(cls, v):
        if isinstance(v, int) and v < 1:
            raise ValueError("expected a positive number")
        return v


class Setting(_Strict):
    """A limit a suite may set per server: the app reads `env` when it starts and reports
    the value in force in /info (a pool's size, under the pool's name)."""
    env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    title: str                       # what it sets, in words: "anyio's thread limiter tokens"
    pool: str | None = None          # the pool whose size it sets, if any
    # the change in a team's own code that sets it, `{value}` standing for the value:
    # "anyio.to_thread.current_default_thread_limiter().total_tokens = {value}"
    fix: str | None = None

    @field_validator("fix")
    @classmethod
    def _fix_names_the_value(cls, fix: str | None) -> str | None:
        if fix is not None and "{value}" not in fix:
            raise ValueError("expected the line of code with {value} where the setting's "
                             "value goes")
        return fix


class Manifest(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    language: str
    framework: str
    description: str | None = None
    # CPU work serialised by a lock per process (CPython's GIL: process) or not (none);
    # an endpoint may say otherwise
    lock: Lock
    lock_name: str | None = None     # the lock as readers know it ("the GIL"), in the report
    # the pools endpoints run in, by the name /info reports their size under: a title each
    pools: dict[str, str] = {}
    # limits a suite may set per server (`set:` in the suite), by name
    settings: dict[str, Setting] = {}
    setup: list[Argv] = []
    packages: Argv | None = None   # argv printing the environment's packages, one per line
    servers: dict[str, Server] = Field(min_length=1)
    endpoints: dict[str, Endpoint] = Field(min_length=1)

    @field_validator("setup")
    @classmethod
    def _setup(cls, v):
        return [_argv(a) for a in v]

    @field_validator("packages")
    @classmethod
    def _packages(cls, v):
        return None if v is None else _argv(v)

    @field_validator("endpoints", mode="before")
    @classmethod
    def _endpoints(cls, v):
        if isinstance(v, dict):
            unknown = [k for k in v if k not in KINDS]
            if unknown:
                raise ValueError(f"unknown endpoint kind {unknown[0]!r}; expected one of "
                                 + ", ".join(KINDS))
            return {k: ({} if e is None else e) for k, e in v.items()}
        return v


@dataclass(frozen=True)
class Impl:
    manifest: Manifest
    folder: Path

    @property
    def name(self) -> str:
        return self.manifest.name


def parse_manifest(data: object, file: str, lines: dict) -> Manifest:
    if not isinstance(data, dict):
        raise BenchError("expected a mapping of keys (name, language, framework, lock, setup, "
                         "servers, endpoints)", file=file)
    try:
        manifest = Manifest.model_validate(data)
    except pydantic.ValidationError as exc:
        raise_validation(exc, file, lines)
        raise  # unreachable
    _check_declarations(manifest, file, lines)
    return manifest


def _check_declarations(manifest: Manifest, file: str, lines: dict) -> None:
    """Each pool named is declared; work on an event loop needs servers that have one."""
    loops = [name for name, s in manifest.servers.items() if s.concurrency != Concurrency.EVENT_LOOP]
    named = [(("settings", name, "pool"), setting.pool)
             for name, setting in manifest.settings.items()]
    named += [(("endpoints", kind, key), getattr(endpoint, key))
              for kind, endpoint in manifest.endpoints.items() for key in ("pool", "via")]
    for where, pool in named:
        if pool and pool not in manifest.pools:
            declared = ", ".join(manifest.pools) or "none"
            raise BenchError(f"pool {pool!r} is not declared under `pools` "
                             f"(declared: {declared})", file=file, key=".".join(where),
                             line=lines.get(where))
    for kind, endpoint in manifest.endpoints.items():
        if endpoint.runs in (Runs.LOOP, Runs.LOOP_BLOCKING) and loops:
            raise BenchError(f"runs: {endpoint.runs} needs an event loop, but server "
                             f"{loops[0]!r} has concurrency "
                             f"{manifest.servers[loops[0]].concurrency}", file=file,
                             key=f"endpoints.{kind}.runs",
                             line=lines.get(("endpoints", kind, "runs")))


def execution_of(manifest: Manifest, kind: str) -> dict:
    """The stored form of an endpoint's declaration (runs, pool, via, their titles, lock)."""
    endpoint = manifest.endpoints[kind]
    via = {"via": endpoint.via, "via_title": manifest.pools.get(endpoint.via)} if endpoint.via else {}
    lock = endpoint.lock or manifest.lock
    named = {"lock_title": manifest.lock_name} if lock == Lock.PROCESS and manifest.lock_name else {}
    return {"runs": endpoint.runs, "pool": endpoint.pool,
            "pool_title": manifest.pools.get(endpoint.pool) if endpoint.pool else None,
            **via, "lock": lock, **named}


def load_impls(root: Path) -> dict[str, Impl]:
    """Every impls/*/impl.yaml under root, by name; names must be unique and match folders."""
    impls: dict[str, Impl] = {}
    loaded = []
    for path in sorted(root.glob("*/impl.yaml")):
        data, lines = load_yaml(path)
        loaded.append((path, parse_manifest(data, str(path), lines), lines))
    for path, manifest, lines in loaded:
        if manifest.name in impls:
            raise BenchError(f"duplicate implementation name {manifest.name!r} (also in "
                             f"{impls[manifest.name].folder / 'impl.yaml'})",
                             file=str(path), key="name", line=lines.get(("name",)))
        impls[manifest.name] = Impl(manifest, path.parent)
    for path, manifest, lines in loaded:
        if manifest.name != path.parent.name:
            raise BenchError(f"expected the folder's name {path.parent.name!r}, got "
                             f"{manifest.name!r}", file=str(path), key="name",
                             line=lines.get(("name",)))
    if not impls:
        raise BenchError("no implementation found (expected impls/<name>/impl.yaml)",
                         file=str(root))
    return impls
