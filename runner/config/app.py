"""Your own app (`python -m runner app path/to/app.yaml`): what to start and which routes to
load, validated with pydantic; a mistake is one line naming the file, the key and what was
expected (docs/app.md)."""

from pathlib import Path
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import BenchError
from .suite import parse_duration
from .yamlfile import load_yaml, raise_validation


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppRoute(_Strict):
    path: str
    method: Literal["GET"] = "GET"   # wrk's Lua report sends GETs only
    status: int = Field(200, ge=100, le=599)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("a path starts with /, as /items")
        return value


class AppLoad(_Strict):
    connections: int = Field(64, ge=1, le=10_000)
    threads: int = Field(2, ge=1, le=64)
    duration: float = 3.0
    timeout: float = 5.0

    @field_validator("duration", "timeout", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> float:
        return parse_duration(value)


class AppSpec(_Strict):
    app: str = Field(pattern=r"^[\w.]+:[\w.]+$", description="module:attribute")
    folder: str = "."                         # relative to the YAML file
    setup: list[str] = ["uv", "sync", "--frozen", "--quiet"]
    python: str = ".venv/bin/python"           # relative to folder
    server: Literal["uvicorn"] = "uvicorn"
    services: list[Literal["postgres"]] = []
    env: dict[str, str] = {}                   # "{postgres_url}" is the started database's URL
    load: AppLoad = AppLoad()
    routes: list[AppRoute] = Field(min_length=1)
    probe: str | None = Field(None, pattern=r"^/")   # a route timed during each other's load



def load_app_spec(path: Path) -> tuple[AppSpec, Path]:
    """The spec and the app's folder (resolved from the YAML file's own folder)."""
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise BenchError("expected a mapping with app: and routes:", file=str(path))
    try:
        spec = AppSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise_validation(exc, str(path), lines)
    folder = (path.parent / spec.folder).resolve()
    if not folder.is_dir():
        raise BenchError(f"no such folder {folder}", file=str(path), key="folder",
                         line=lines.get(("folder",)))
    return spec, folder
