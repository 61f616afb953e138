"""Implementation manifests (`impls/<name>/impl.yaml`): found, validated, never listed in code.

Adding an implementation is adding a folder; the runner discovers it here.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import BenchError
from .kinds import KINDS
from .yamlfile import load_yaml, raise_validation

PLACEHOLDERS = ("{port}", "{workers}", "{threads}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(_Strict):
    note: str | None = None


Argv = list[str | int]


def _argv(value: list) -> list[str]:
    if not value:
        raise ValueError("expected a non-empty list of arguments")
    return [str(v) for v in value]


Concurrency = Literal["event-loop", "thread-per-request", "threads", "goroutines"]


class Server(_Strict):
    argv: Argv
    # how one worker holds requests in service, for the model: an asyncio event loop, a
    # new thread per request, a fixed number of threads, a goroutine per request
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


class Manifest(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    language: str
    framework: str
    description: str | None = None
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
        raise BenchError("expected a mapping of keys (name, language, framework, setup, "
                         "servers, endpoints)", file=file)
    try:
        return Manifest.model_validate(data)
    except pydantic.ValidationError as exc:
        raise_validation(exc, file, lines)
        raise  # unreachable


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
