"""Start your app under the wrapper, in the app's own Python environment:

    PYTHONPATH=<concbench> .venv/bin/python -m runner.app.serve module:app --port 8000

imports `module:app` (the current folder first on the path, as uvicorn does), wraps it in
`wrap.Concbench` and serves it with uvicorn. An import path that does not import, or names
nothing, is one line on stderr and exit status 2. For `uvicorn --factory`, `factory` reads
the import path from CONCBENCH_APP:

    CONCBENCH_APP=module:app uvicorn runner.app.serve:factory --factory --port 8000
"""

import argparse
import importlib
import os
import sys
from typing import Any

from .wrap import Concbench

BAD_INPUT = 2


class AppImportError(Exception):
    """The import path does not name an importable app; the message says why."""


def load(path: str) -> Any:
    """The object `module:attr` (attr may be dotted) names."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise AppImportError(f"app {path!r}: expected module:attribute, as main:app")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as exc:  # the app's own import error, whatever it is
        raise AppImportError(f"app {path!r}: importing {module_name} failed: "
                             f"{type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(found, part):
            raise AppImportError(f"app {path!r}: module {module_name} has no {attr}")
        found = getattr(found, part)
    if not callable(found):
        raise AppImportError(f"app {path!r}: {attr} is not an ASGI app (not callable)")
    return found


def factory() -> Concbench:
    """The wrapped app named by CONCBENCH_APP, for `uvicorn --factory`."""
    return Concbench(load(os.environ.get("CONCBENCH_APP", "")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runner.app.serve")
    parser.add_argument("app", help="the app's import path, module:attribute")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        app = load(args.app)
    except AppImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT
    try:
        import uvicorn
    except ImportError:
        print("error: uvicorn is not installed in the app's environment", file=sys.stderr)
        return BAD_INPUT
    uvicorn.run(Concbench(app), host=args.host, port=args.port, log_level="warning",
                access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
