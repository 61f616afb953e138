"""The command line: `python -m runner bench|verify|report|list ...`.

Reads like a table of contents: parse the arguments, load and validate the input, hand
the work to bench or report, print the outcome. Only this module prints a final error
and chooses the exit code: 0 every case measured, 3 some or all cases failed, 2 bad input,
4 a report that skipped unreadable stored files, 5 a full disk, 130 an interruption
(docs/errors.md).

Every message is printed as it is: rich markup is off, so `[a-z]` in a message stays.
"""

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from .errors import (EXIT_CASES_FAILED, EXIT_DISK_FULL, EXIT_INTERRUPTED, EXIT_OK,
                     EXIT_REPORT_INCOMPLETE, BenchError)
from .config.manifest import load_impls
from .measure.procs import (OWNED, MachineBusy, live_runs, machine_lock, machine_lock_path,
                            stop_left_over)
from .measure.services import ServiceHost
from .config.suite import load_suite, plan_cases
from .terms import Status

REPO = Path(__file__).resolve().parents[1]
SUITES = REPO / "suites"
RUNNING = ".running"  # under --raw-dir: one record per run of the process groups it owns
console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def suite_path(name: str) -> Path:
    """A suite as a name (`default`; `all` = default), a file name (`default.yaml`) or a
    path (`suites/default.yaml`, `suites/default`, any YAML file)."""
    if name == "all":
        name = "default"
    path = Path(name)
    tries = [path, Path(f"{path}.yaml")]
    if not path.is_absolute():
        tries += [REPO / path, REPO / f"{path}.yaml", SUITES / path.name,
                  SUITES / f"{path.name}.yaml"]
    for candidate in tries:
        if candidate.is_file():
            return candidate
    found = ", ".join(p.stem for p in sorted(SUITES.glob("*.yaml"))) or "none"
    raise BenchError(f"no such suite; the suites in {SUITES} are {found} (or give the path "
                     "of a YAML file)", file=name)


def clean_up_after_killed_runs(raw_dir: Path) -> None:
    """Stop what a run killed outright (SIGKILL, power) left running, from its record."""
    for line in stop_left_over(raw_dir / RUNNING):
        console.print(line)


def guide_for(suite, impls: dict):
    """What a report says beside the measurements: the questions of `suite` (a loaded suite,
    or the name of one under suites/, none when there is no such file) and the code that
    changes each implementation's settings."""
    from .report.findings import Guide
    if isinstance(suite, str):
        path = SUITES / f"{suite}.yaml"
        suite = load_suite(path) if path.is_file() else None
    fixes = {(impl.name, key): setting.fix for impl in impls.values()
             for key, setting in impl.manifest.settings.items() if setting.fix}
    return Guide(list(suite.suite.questions) if suite else [], fixes)


def load_plan(args):
    impls = load_impls(Path(args.impls))
    suite = load_suite(suite_path(args.suite))
    cases = plan_cases(suite, impls, os.cpu_count() or 1)
    return impls, suite, cases


def cmd_bench(args) -> int:
    impls, suite, cases = load_plan(args)
    clean_up_after_killed_runs(Path(args.raw_dir))
    others = live_runs(Path(args.raw_dir) / RUNNING)
    if others:
        raise BenchError(f"another run is measuring on this machine (runner pid "
                         f"{', '.join(map(str, others))}): two loads at once measure each "
                         "other; wait for it to end", file=str(args.raw_dir))
    raw_root = Path(args.raw_dir) / suite.name
    try:
        with machine_lock(raw_root.resolve()):   # one run a machine, whatever its folder
            return _bench(args, impls, suite, cases)
    except MachineBusy as busy:
        raise BenchError(f"another run is measuring on this machine ({busy}): two loads at "
                         "once measure each other; wait for it to end",
                         file=str(machine_lock_path())) from None


def _bench(args, impls: dict, suite, cases: list) -> int:
    from .measure import bench
    from .report import latest_run_dir, write_reports
    from .store.results import DiskFull, claim_run_dir, new_run_id
    raw_root = Path(args.raw_dir) / suite.name
    run_dir = None
    if args.resume:
        run_dir = latest_run_dir(Path(args.raw_dir), suite.name)
        if run_dir is None:
            console.print(f"nothing to resume under {raw_root}; starting a new run")
    run_dir = run_dir or claim_run_dir(raw_root, new_run_id())
    try:
        with OWNED.session(Path(args.raw_dir) / RUNNING):
            records = bench.run_suite(bench.Plan(suite, impls, cases), run_dir, REPO, console,
                                      resume=args.resume)
    except BenchError:   # bad input found before anything ran: leave no empty folder
        _release(run_dir, Path(args.raw_dir))
        raise
    except KeyboardInterrupt:
        kept = sum(1 for p in run_dir.glob("*.json") if p.name != "run.json")
        console.print(f"\ninterrupted: every server and wrk stopped; {kept} case files kept "
                      f"in {run_dir}\nresume with: ./just bench {args.suite} --resume")
        return EXIT_INTERRUPTED
    except DiskFull as exc:   # every server and wrk already stopped, as on an interrupt
        console.print(disk_full_line(exc, args.suite))
        return EXIT_DISK_FULL
    failed = [r for r in records if r["status"] == Status.FAILED]
    for record in failed:
        console.print(f"FAILED {record['case']['id']}: {record['reason'].splitlines()[0]}")
    if not args.no_report:
        for path in write_reports(run_dir, Path(args.out), on_problem=_skipped,
                                  guide=guide_for(suite, impls)):
            console.print(f"wrote {path}")
    console.print(f"{len(records)} cases measured, {len(failed)} failed; raw results in {run_dir}")
    return EXIT_CASES_FAILED if failed else EXIT_OK


def disk_full_line(exc, suite: str) -> str:
    """The one line a full disk ends a run with: what could not be written, where the
    record went instead, and how to go on."""
    kept = (f"the record is kept in {exc.kept}" if exc.kept
            else "the record could not be kept anywhere (the temp dir is full too)")
    return (f"{exc}; {kept}; free space and run `./just bench {suite} --resume` "
            "(cases already stored are kept, the unfinished one is measured again)")


def _release(run_dir: Path, raw_dir: Path) -> None:
    """Remove run_dir and the folders above it up to raw_dir, those that are empty."""
    for folder in (run_dir, run_dir.parent, raw_dir):
        try:
            folder.rmdir()
        except OSError:   # not empty, or not there
            return


def cmd_verify(args) -> int:
    from .measure import bench
    impls, suite, cases = load_plan(args)
    used = list(dict.fromkeys(c.impl for c in cases if c.available))
    bench.check_tools([impls[n] for n in used])
    for name in dict.fromkeys(c.impl for c in cases):
        unserved = unserved_kinds(impls[name], cases)
        if unserved:
            console.print(f"{name} does not serve {', '.join(unserved)} (n/a in the report)")
    clean_up_after_killed_runs(Path(args.raw_dir))
    failures, seen = 0, set()
    with tempfile.TemporaryDirectory(prefix="concbench-verify-") as tmp, \
            OWNED.session(Path(args.raw_dir) / RUNNING):  # stops its servers before tmp goes
        broken = {}  # (impl, server) or impl -> why none of its cases can run
        for impl_name in used:
            impl = impls[impl_name]
            error = bench.run_setup(impl, Path(tmp) / f"setup-{impl_name}.log",
                                    lambda line: console.print(line, highlight=False,
                                                               markup=False))
            if error:
                broken[impl_name] = f"setup failed: {error}"
                continue
            for server, problem in bench.program_problems(impl, cases).items():
                broken[(impl_name, server)] = problem
        with ServiceHost(suite.suite.services.model_dump(exclude_none=True), Path(tmp)) as host:
            for case in cases:
                key = (case.impl, case.server_label, case.path)
                if not case.available or key in seen:
                    continue
                seen.add(key)
                reason = broken.get(case.impl) or broken.get((case.impl, case.server))
                if reason is None:
                    reason, elapsed = bench.verify_case(case, impls[case.impl], Path(tmp),
                                                        suite.suite.ready_timeout, host)
                label = f"{case.impl} {case.server_label} {case.path}"
                if reason:
                    failures += 1
                    for line in reason.splitlines():   # one line each problem
                        console.print(f"FAIL {label}: {line}")
                else:
                    console.print(f"ok   {label} ({elapsed * 1000:.1f} ms)")
    console.print(f"{len(seen) - failures} passed, {failures} failed")
    return EXIT_CASES_FAILED if failures else EXIT_OK


def unserved_kinds(impl, cases) -> list[str]:
    """The suite's kinds (an interference probe's included) that impl has no endpoint for."""
    wanted = dict.fromkeys(k for c in cases if c.impl == impl.name
                           for k in (c.kind, c.probe) if k)
    return [k for k in wanted if k not in impl.manifest.endpoints]


def cmd_report(args) -> int:
    from .report import latest_run_dir, write_reports
    raw = Path(args.raw_dir)
    suites = args.suites or (sorted(p.name for p in raw.iterdir()
                                    if p.is_dir() and not p.name.startswith("."))
                             if raw.is_dir() else [])
    if not suites:
        raise BenchError("no stored results; run `./just bench all` first", file=str(raw))
    impls = load_impls(Path(args.impls))
    skipped: list[str] = []

    def skip(problem: str) -> None:
        _skipped(problem)
        skipped.append(problem)

    for name in suites:
        run_dir = Path(name) if Path(name).is_dir() else latest_run_dir(raw, name)
        if run_dir is None:
            raise BenchError(f"no stored run of suite {name!r}", file=str(raw))
        guide = guide_for(run_dir.parent.name, impls)
        for path in write_reports(run_dir, Path(args.out), on_problem=skip, guide=guide):
            console.print(f"wrote {path}")
    if skipped:
        console.print(f"incomplete: {len(skipped)} stored file{'s' * (len(skipped) > 1)} "
                      "skipped (named at the top of the report); README.md's summary was not "
                      "rewritten from it")
        return EXIT_REPORT_INCOMPLETE
    return EXIT_OK


def _skipped(problem: str) -> None:
    console.print(f"skipped: {problem}")


def cmd_compare(args) -> int:
    from .report.compare import run_compare
    print(run_compare(Path(args.a), Path(args.b)))
    return 0


def cmd_list(args) -> int:
    impls = load_impls(Path(args.impls))
    for impl in impls.values():
        m = impl.manifest
        print(f"{m.name} ({m.language}, {m.framework})")
        for name, server in m.servers.items():
            print(f"  server {name}: workers {server.workers}"
                  + (f", threads {server.threads}" if server.threads else "")
                  + (f" - {server.note}" if server.note else ""))
        print("  endpoints: " + ", ".join(m.endpoints))
        if m.settings:
            print("  settings: " + ", ".join(f"{k} ({v.title})" for k, v in m.settings.items()))
    for path in sorted((REPO / "suites").glob("*.yaml")):
        suite = load_suite(path)
        cases = plan_cases(suite, impls, os.cpu_count() or 1)
        measured = [c for c in cases if c.available]
        print(f"suite {suite.name}: {len(measured)} cases measured x {suite.suite.repeats} "
              f"repeats, {len(cases) - len(measured)} n/a"
              + (f" - {suite.suite.description}" if suite.suite.description else ""))
    return 0


def cmd_app(args) -> int:
    """Your own app: each route's rate, p99, where it runs and what limits it (docs/app.md)."""
    from .config.app import load_app_spec
    from .measure.app import measure_app
    from .report.app import route_row
    spec, folder = load_app_spec(Path(args.spec))
    out_dir = Path(args.logs) if args.logs else Path(tempfile.mkdtemp(prefix="concbench-app-"))
    try:
        with machine_lock(out_dir), OWNED.session(Path(args.raw_dir) / RUNNING):
            info, results = measure_app(spec, folder, out_dir)
    except MachineBusy as busy:
        raise BenchError(f"another run is measuring on this machine ({busy}): two loads at "
                         "once measure each other; wait for it to end",
                         file=str(machine_lock_path())) from None
    rows = [route_row(result, info, spec.load.connections) for result in results]
    _print_app(rows, info, out_dir, spec.probe)
    return EXIT_CASES_FAILED if any(row["error"] for row in rows) else EXIT_OK


def _print_app(rows: list[dict], info: dict, out_dir: Path, probe: str | None) -> None:
    from rich.console import Console as Out
    from .report.app import summary, table
    out = Out(width=max(console.width, 160), highlight=False, markup=False, emoji=False)
    out.print(table(rows, probe))
    for line in summary(rows, info):
        out.print(line)
    for row in rows:
        if row["error"]:
            console.print(f"FAILED {row['path']}: {row['error']}")
    console.print(f"logs and wrk reports: {out_dir}")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--impls", default=str(REPO / "impls"), help="folder of implementations")
    common.add_argument("--raw-dir", default=str(REPO / "reports" / "raw"),
                        help="where raw results are stored (default: reports/raw)")
    common.add_argument("--out", default=str(REPO / "reports"),
                        help="where reports are written (default: reports)")
    parser = argparse.ArgumentParser(prog="python -m runner", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", parents=[common], help="measure a suite and render its report")
    bench.add_argument("suite", help="suite name (default, quick, ...; all = default) or YAML path")
    bench.add_argument("--resume", action="store_true",
                       help="continue the latest run of this suite, skipping measured cases")
    bench.add_argument("--no-report", action="store_true", help="only store raw results")
    bench.set_defaults(func=cmd_bench)
    verify = sub.add_parser("verify", parents=[common], help="conformance check of every case, no load")
    verify.add_argument("suite")
    verify.set_defaults(func=cmd_verify)
    report = sub.add_parser("report", parents=[common], help="render reports from stored raw results")
    report.add_argument("suites", nargs="*", help="suite names or run folders (default: all)")
    report.set_defaults(func=cmd_report)
    compare = sub.add_parser("compare", help="the difference between two stored runs, row by row")
    compare.add_argument("a", help="run folder A (the baseline), e.g. reports/raw/quick/<run id>")
    compare.add_argument("b", help="run folder B")
    compare.set_defaults(func=cmd_compare)
    lister = sub.add_parser("list", parents=[common], help="implementations, servers, endpoints and suites")
    lister.set_defaults(func=cmd_list)
    app = sub.add_parser("app", help="your own ASGI app under load, route by route (docs/app.md)")
    app.add_argument("spec", help="the app's YAML: import path, folder, routes")
    app.add_argument("--logs", help="where the app's log and wrk's reports go (default: a new "
                     "temporary folder)")
    app.add_argument("--raw-dir", default=str(REPO / "reports" / "raw"), help=argparse.SUPPRESS)
    app.set_defaults(func=cmd_app)
    return parser


def _terminate(signum, frame):
    # SIGTERM takes the same path as Ctrl-C: every finally block stops its processes
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except BenchError as exc:
        console.print(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        console.print("interrupted")
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
