"""Suites (`suites/*.yaml`): what to measure, validated before anything starts.

A suite names its wrk settings, repeats, the implementations and servers that take part
and a list of scenarios; `plan_cases` expands it against the manifests into the ordered
list of cases a run measures. Every mistake is a BenchError naming file, key and line.
"""

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import pydantic
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, field_validator,
                      model_validator)

from ..errors import BenchError
from .kinds import KINDS, SERVICE_OF, endpoint_path
from .manifest import Impl, Server, execution_of
from .yamlfile import Path_, format_key, line_of, parse_yaml, raise_validation, read_text
from ..store.results import StoredCaseFacts
from ..terms import ScenarioType

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object) -> float:
    """'15s', '500ms', '2m', '1h' or a number of seconds -> seconds (> 0)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 15s, 500ms or 2m")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*", str(value))
        if not match:
            raise ValueError("expected a duration like 15s, 500ms or 2m")
        seconds = float(match[1]) * _UNITS[match[2]]
    if seconds <= 0:
        raise ValueError("expected a duration above zero")
    return seconds


def parse_whole_seconds(value: object) -> float:
    seconds = parse_duration(value)
    if seconds != int(seconds):
        raise ValueError("expected whole seconds (wrk reads -d and --timeout as integers)")
    return seconds


def parse_warmup(value: object) -> float:
    """A warm-up: 0 (or 0s, 0ms, ...) for none, else whole seconds like wrk's duration."""
    if not isinstance(value, bool) and re.fullmatch(r"\s*0+(?:\.0*)?\s*(?:ms|s|m|h)?\s*",
                                                    str(value)):
        return 0.0
    return parse_whole_seconds(value)


Duration = Annotated[float, BeforeValidator(parse_duration)]
WrkDuration = Annotated[float, BeforeValidator(parse_whole_seconds)]
PositiveInt = Annotated[int, Field(gt=0, strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WrkOverrides(_Strict):
    threads: PositiveInt | None = None
    connections: PositiveInt | None = None
    duration: WrkDuration | None = None
    timeout: WrkDuration | None = None


class WrkSettings(_Strict):
    threads: PositiveInt
    connections: PositiveInt
    duration: WrkDuration
    timeout: WrkDuration

    def merged(self, over: WrkOverrides | None) -> "WrkSettings":
        if over is None:
            return self
        changes = {k: v for k, v in over.model_dump().items() if v is not None}
        return self.model_copy(update=changes)

    def as_record(self) -> dict:
        return {"threads": self.threads, "connections": self.connections,
                "duration_s": self.duration, "timeout_s": self.timeout}


Workers = PositiveInt | Literal["auto"]


class ServerRef(_Strict):
    name: str
    workers: list[Workers] | Workers | None = None
    threads: list[PositiveInt] | PositiveInt | None = None   # needs a {threads} placeholder
    # limits the implementation declares under `settings`, by name: a value or a sweep
    set: dict[str, list[PositiveInt] | PositiveInt] = {}
    kinds: list[str] | None = None   # only these of the scenario's kinds on this server


class Target(_Strict):
    impl: str
    servers: list[str | ServerRef] = Field(min_length=1)


class OpenLoad(_Strict):
    """An open scenario's offered rates: fractions of each row's modelled capacity, or
    requests per second; a row's sweep stops after the first rate whose p99 exceeds `knee`
    times the service time."""
    of_capacity: list[Annotated[float, Field(gt=0, le=10)]] | None = Field(None, min_length=1)
    per_second: list[Annotated[float, Field(gt=0, le=100_000)]] | None = Field(None, min_length=1)
    max_rate: Annotated[float, Field(gt=0, le=100_000)] = 200.0   # cap, req/s
    duration: WrkDuration = 10.0
    timeout: WrkDuration = 60.0
    knee: Annotated[float, Field(gt=1, le=100)] = 1.5

    @model_validator(mode="after")
    def _one_kind_of_rates(self) -> "OpenLoad":
        if (self.of_capacity is None) == (self.per_second is None):
            raise ValueError("expected exactly one of of_capacity (fractions of each row's "
                             "modelled capacity) or per_second (requests per second)")
        return self


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str | None = None
    # load: wrk against each kind; interference: a one-connection probe to `probe` while
    # each kind runs as the heavy load (with `wrk`, for its `duration`) between
    # `before` and `after` seconds of probe alone; open: vegeta at each of `rates`
    type: ScenarioType = ScenarioType.LOAD
    rates: OpenLoad | None = None
    repeats: PositiveInt | None = None     # instead of the suite's, for this scenario
    kinds: list[str] = Field(min_length=1)
    params: dict[Literal["ms", "n", "items"], PositiveInt] = {}
    targets: list[Target] | None = None
    wrk: WrkOverrides | None = None
    probe: str | None = None
    before: WrkDuration | None = None
    after: WrkDuration | None = None

    @model_validator(mode="after")
    def _interference_keys(self) -> "Scenario":
        extra = [k for k in ("probe", "before", "after") if getattr(self, k) is not None]
        if self.type != ScenarioType.INTERFERENCE and extra:
            raise ValueError(f"{extra[0]} is only for scenarios of type interference")
        if (self.type == ScenarioType.OPEN) != (self.rates is not None):
            raise ValueError("rates is for scenarios of type open, and they need it")
        if self.type == ScenarioType.INTERFERENCE:
            probe = self.probe or "hello"
            if probe not in KINDS or KINDS[probe] is not None:
                raise ValueError(f"probe must be a kind without parameters (hello), got {probe!r}")
        return self

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        for kind in kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown endpoint kind {kind!r}; expected one of "
                                 + ", ".join(KINDS))
        return kinds


class Pinning(_Strict):
    """CPU lists (taskset syntax, e.g. "0" or "0-1") for the server and for wrk."""
    server: str = Field(pattern=r"^\d+(-\d+)?(,\d+(-\d+)?)*$")
    wrk: str = Field(pattern=r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


class PostgresService(_Strict):
    """PostgreSQL, started fresh for each measurement of a database kind."""
    max_connections: Annotated[int, Field(ge=5, le=10_000)] = 100


class UpstreamService(_Strict):
    """The upstream HTTP service (services/upstream), started fresh for each measurement
    of an upstream kind; its delay is each request's `ms`."""


class Services(_Strict):
    postgres: PostgresService | None = None
    upstream: UpstreamService | None = None


class Pick(_Strict):
    """One row of a scenario, as a question names it: an endpoint kind on one server of one
    implementation, with the limits the suite set on it (`set`, as in a target's server:
    settings, and `workers` or `threads` where the server was started with others)."""
    impl: str
    server: str
    kind: str
    set: dict[str, PositiveInt | Literal["auto"]] = {}
    scenario: str | None = None     # another scenario than the question's (e.g. another probe)


# what a question may hold equal; `threads` is what one worker takes on at once, and
# `concurrency` what the server takes on at once (its workers times that)
HELD = ("connections", "workers", "threads", "concurrency", "pools", "cores")


class Question(_Strict):
    """A question the suite answers: its contenders against a baseline, in one scenario;
    `equal` names what a fair comparison holds equal, and the finding names what was not."""
    ask: str = Field(min_length=5)
    scenario: str
    baseline: Pick
    contenders: list[Pick] = Field(min_length=1)
    equal: list[Literal[HELD]] = ["connections"]
    fix: str | None = None      # the finding's advice where the fix is not a setting


class Suite(_Strict):
    description: str | None = None
    wrk: WrkSettings
    repeats: PositiveInt = 3
    # stop repeating a case whose first two repeats' steady rates differ by at most this
    # fraction (e.g. 0.01): a third fresh server would only confirm them
    stop_when_agree: Annotated[float, Field(gt=0, lt=1)] | None = None
    warmup: Annotated[float, BeforeValidator(parse_warmup)] = 2.0   # 0 or 0s: none
    ready_timeout: Duration = 30.0    # how long a server may take to answer /info
    pinning: Pinning | None = None    # optional: server and wrk on separate cores
    services: Services = Services()   # what database and upstream kinds call
    targets: list[Target] = Field(min_length=1)
    scenarios: list[Scenario] = Field(min_length=1)
    questions: list[Question] = []   # answered first, in the report's Findings


@dataclass(frozen=True)
class LoadedSuite:
    name: str
    file: str
    suite: Suite
    lines: dict[Path_, int] = field(repr=False)
    text: str = field(repr=False)

    def error(self, message: str, loc: Path_) -> BenchError:
        return BenchError(message, file=self.file, key=format_key(loc),
                          line=line_of(loc, self.lines))


@dataclass(frozen=True)
class Case:
    """One row of the report: an endpoint kind on one server of one implementation."""

    id: str
    scenario: str
    title: str
    impl: str
    language: str
    framework: str
    server: str
    server_label: str
    concurrency: str
    workers: int
    threads: int | None
    kind: str
    params: dict
    path: str
    note: str | None
    server_note: str | None
    wrk: WrkSettings
    available: bool = True
    reason: str | None = None
    type: ScenarioType = ScenarioType.LOAD
    probe: str | None = None         # interference only: the probe's kind
    before_s: float = 0.0
    after_s: float = 0.0
    open: dict | None = None         # open scenarios: OpenLoad's settings
    repeats: int = 1                 # fresh-server measurements: the scenario's, else the suite's
    label: str | None = None         # how a developer says the endpoint (impl.yaml)
    execution: dict | None = None    # where its work runs (manifest.execution_of)
    # limits the suite set, by name: {"value": 100, "title": "...", "env": "BENCH_..."}
    settings: dict = field(default_factory=dict)
    tuned: dict = field(default_factory=dict)      # what differs from the manifest's server
    services: dict = field(default_factory=dict)   # the services it calls, by name: settings

    @property
    def env(self) -> dict[str, str]:
        """The environment that sets the limits in the server."""
        return {s["env"]: str(s["value"]) for s in self.settings.values()}

    @property
    def window_s(self) -> float:
        """Interference: how long the probe runs, the heavy load in its middle."""
        return self.before_s + self.wrk.duration + self.after_s

    @property
    def probe_path(self) -> str | None:
        return endpoint_path(self.probe, {}) if self.probe else None

    def record(self) -> StoredCaseFacts:
        """The case as its case file states it (`case`)."""
        extra = {"open": self.open} if self.type == ScenarioType.OPEN else {}
        if self.type == ScenarioType.INTERFERENCE:
            extra = {"probe": {"kind": self.probe, "path": self.probe_path},
                     "timing": {"before_s": self.before_s, "during_s": self.wrk.duration,
                                "after_s": self.after_s}}
        return StoredCaseFacts(
            id=self.id, scenario=self.scenario, title=self.title, type=self.type, **extra,
            impl=self.impl, language=self.language, framework=self.framework,
            server=self.server, server_label=self.server_label,
            concurrency=self.concurrency, workers=self.workers, threads=self.threads,
            kind=self.kind, params=dict(self.params), path=self.path, note=self.note,
            server_note=self.server_note, label=self.label, execution=self.execution,
            settings={k: dict(v) for k, v in self.settings.items()}, tuned=dict(self.tuned),
            **({"services": {k: dict(v) for k, v in self.services.items()}}
               if self.services else {}))


def parse_suite(text: str, file: str, name: str) -> LoadedSuite:
    data, lines = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise BenchError("expected a mapping with keys wrk, targets and scenarios", file=file)
    try:
        suite = Suite.model_validate(data)
    except pydantic.ValidationError as exc:
        raise_validation(exc, file, lines)
        raise  # unreachable
    loaded = LoadedSuite(name, file, suite, lines, text)
    names = [s.name for s in suite.scenarios]
    for index, scenario in enumerate(suite.scenarios):
        if names.index(scenario.name) != index:
            raise loaded.error(f"duplicate scenario name {scenario.name!r}",
                               ("scenarios", index, "name"))
    _check_questions(loaded)
    return loaded


def _check_questions(loaded: LoadedSuite) -> None:
    """Each question names a scenario of the suite, and kinds that scenario runs."""
    kinds = {s.name: s.kinds for s in loaded.suite.scenarios}
    for index, question in enumerate(loaded.suite.questions):
        picks = [("baseline",), *(("contenders", i) for i in range(len(question.contenders)))]
        for where, pick in [((), None), *zip(picks, [question.baseline, *question.contenders])]:
            scenario = (pick and pick.scenario) or question.scenario
            if scenario not in kinds:
                raise loaded.error(f"no scenario {scenario!r}; expected one of "
                                   + ", ".join(kinds), ("questions", index, *where, "scenario"))
            if pick is not None and pick.kind not in kinds[scenario]:
                raise loaded.error(f"kind {pick.kind!r} is not one of scenario {scenario}'s "
                                   f"kinds ({', '.join(kinds[scenario])})",
                                   ("questions", index, *where, "kind"))


def load_suite(path: Path) -> LoadedSuite:
    if not path.is_file():
        raise BenchError("no such suite file", file=str(path))
    return parse_suite(read_text(path), str(path), path.stem)


def resolve_workers(value: int | str, cores: int) -> int:
    # gunicorn's documented advice for the number of workers: 2 x cores + 1
    return 2 * cores + 1 if value == "auto" else int(value)


@dataclass(frozen=True)
class _Config:
    """One configuration of one implementation's server a scenario runs on."""
    impl: Impl
    ref: ServerRef
    server: Server
    workers: int
    threads: int | None
    settings: dict      # each limit set, with its title, env and pool
    tuned: dict         # what differs from the manifest's server
    label: str


def plan_cases(loaded: LoadedSuite, impls: dict[str, Impl], cores: int) -> list[Case]:
    """Every case of the suite in run order; unknown names are errors, missing kinds n/a."""
    suite = loaded.suite
    cases: list[Case] = []
    seen: set[str] = set()
    for s_index, scenario in enumerate(suite.scenarios):
        wrk = _scenario_wrk(loaded, s_index, scenario)
        for config in _configs(loaded, impls, s_index, cores):
            for kind in [k for k in scenario.kinds if k in (config.ref.kinds or [k])]:
                case = _case(suite, scenario, wrk, config, kind)
                if case.id not in seen:
                    seen.add(case.id)
                    cases.append(case)
    return cases


def _scenario_wrk(loaded: LoadedSuite, s_index: int, scenario: Scenario) -> WrkSettings:
    """The scenario's wrk settings, once its kinds have the parameters and services they need."""
    suite = loaded.suite
    wrk = suite.wrk.merged(scenario.wrk)
    if wrk.connections < wrk.threads:
        raise loaded.error(f"connections ({wrk.connections}) must be at least threads "
                           f"({wrk.threads}): wrk gives each thread its own connections",
                           ("scenarios", s_index, "wrk") if scenario.wrk else ("wrk",))
    for kind in scenario.kinds:
        needed = KINDS[kind]
        if needed and needed not in scenario.params:
            raise loaded.error(f"kind {kind!r} needs the parameter {needed!r}",
                               ("scenarios", s_index, "params"))
        service = SERVICE_OF.get(kind)
        if service and getattr(suite.services, service) is None:
            raise loaded.error(f"kind {kind!r} calls the {service} service, which the "
                               f"suite does not declare (add `services: {{{service}: {{}}}}`)",
                               ("scenarios", s_index, "kinds", scenario.kinds.index(kind)))
    return wrk


def _configs(loaded: LoadedSuite, impls: dict[str, Impl], s_index: int,
             cores: int) -> list[_Config]:
    """Every server configuration the scenario's targets name, in order."""
    suite = loaded.suite
    scenario = suite.scenarios[s_index]
    asked = {k for s in suite.scenarios for k in s.kinds}   # what a server's `kinds` may name
    targets = scenario.targets or suite.targets
    base: Path_ = ("scenarios", s_index, "targets") if scenario.targets else ("targets",)
    out = []
    for t_index, target in enumerate(targets):
        impl = impls.get(target.impl)
        if impl is None:
            raise loaded.error(f"unknown implementation {target.impl!r}; expected one of "
                               + ", ".join(sorted(impls)), base + (t_index, "impl"))
        manifest = impl.manifest
        for r_index, ref in enumerate(target.servers):
            ref = ServerRef(name=ref) if isinstance(ref, str) else ref
            server = manifest.servers.get(ref.name)
            if server is None:
                raise loaded.error(
                    f"unknown server {ref.name!r} of {impl.name}; expected one of "
                    + ", ".join(manifest.servers), base + (t_index, "servers", r_index))
            where = base + (t_index, "servers", r_index)
            stray = [k for k in ref.kinds or [] if k not in asked]
            if stray:
                raise loaded.error(f"kind {stray[0]!r} is in no scenario of the suite "
                                   f"({', '.join(sorted(asked))})", where + ("kinds",))
            for workers, threads, values, tuned, label in _variants(loaded, impl, server, ref,
                                                                    cores, where):
                settings = {k: {"value": v, "title": manifest.settings[k].title,
                                "env": manifest.settings[k].env,
                                "pool": manifest.settings[k].pool}
                            for k, v in values.items()}
                out.append(_Config(impl, ref, server, workers, threads, settings, tuned, label))
    return out


def _case(suite: Suite, scenario: Scenario, wrk: WrkSettings, config: _Config,
          kind: str) -> Case:
    """One kind of the scenario on one server configuration."""
    impl, manifest = config.impl, config.impl.manifest
    endpoint = manifest.endpoints.get(kind)
    available = endpoint is not None
    reason = None if available else f"{impl.name} does not serve {kind}"
    extra = {}   # what the scenario's type adds to its cases
    if scenario.type == ScenarioType.INTERFERENCE:
        probe = scenario.probe or "hello"
        extra = {"type": ScenarioType.INTERFERENCE, "probe": probe,
                 "before_s": scenario.before or 3.0, "after_s": scenario.after or 3.0}
        if probe not in manifest.endpoints and available:
            available, reason = False, f"{impl.name} does not serve {probe}"
    if scenario.type == ScenarioType.OPEN:
        extra = {"type": ScenarioType.OPEN, "open": scenario.rates.model_dump()}
    params = {KINDS[kind]: scenario.params[KINDS[kind]]} if KINDS[kind] else {}
    return Case(
        id=f"{scenario.name}/{impl.name}/{config.label}/{kind}", scenario=scenario.name,
        title=scenario.title or scenario.name, impl=impl.name,
        language=manifest.language, framework=manifest.framework,
        server=config.ref.name, server_label=config.label,
        concurrency=config.server.concurrency, workers=config.workers,
        threads=config.threads, kind=kind, params=params,
        settings=config.settings, tuned=config.tuned,
        path=endpoint_path(kind, params),
        note=endpoint.note if endpoint else None,
        label=(endpoint.label or kind) if endpoint else kind,
        repeats=scenario.repeats or suite.repeats,
        execution=execution_of(manifest, kind) if endpoint else None,
        server_note=config.server.note,
        services=_services_of(suite, kind),
        wrk=wrk, available=available,
        reason=reason, **extra)


def _services_of(suite: Suite, kind: str) -> dict:
    """The services a kind calls and the suite's settings for them."""
    service = SERVICE_OF.get(kind)
    return {service: getattr(suite.services, service).model_dump()} if service else {}


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _variants(loaded: LoadedSuite, impl: Impl, server, ref: ServerRef, cores: int,
              where: Path_) -> list[tuple[int, int | None, dict, dict, str]]:
    """(workers, threads, settings, what differs from the manifest, label) for every
    combination a suite's server entry asks for, in order."""
    manifest = impl.manifest
    templated = {p: any("{" + p + "}" in a for a in server.argv) for p in ("workers", "threads")}
    for placeholder, asked in (("workers", ref.workers), ("threads", ref.threads)):
        default = getattr(server, placeholder)
        if asked is not None and _listed(asked) != [default] and not templated[placeholder]:
            raise loaded.error(f"server {ref.name!r} of {impl.name} has no {{{placeholder}}} "
                               f"placeholder, so its {placeholder} cannot be set", where)
    unknown = [name for name in ref.set if name not in manifest.settings]
    if unknown:
        raise loaded.error(f"unknown setting {unknown[0]!r} of {impl.name}; expected one of "
                           + (", ".join(manifest.settings) or "none (it declares no "
                              "`settings`)"), where + ("set", unknown[0]))
    default_workers = resolve_workers(server.workers, cores)
    out = []
    for workers_value, threads, *values in itertools.product(
            _listed(ref.workers if ref.workers is not None else server.workers),
            _listed(ref.threads if ref.threads is not None else server.threads),
            *(_listed(v) for v in ref.set.values())):
        workers = resolve_workers(workers_value, cores)
        settings = dict(zip(ref.set, values))
        tuned = {**({"workers": workers} if workers != default_workers else {}),
                 **({"threads": threads} if threads != server.threads else {}), **settings}
        label = ref.name
        if templated["workers"]:
            label += f"-w{workers}"
        if ref.threads is not None:
            label += f"-t{threads}"
        label += "".join(f"-{name}{value}" for name, value in settings.items())
        out.append((workers, threads, settings, tuned, label))
    return out
