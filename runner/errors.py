"""The one error type a user sees: bad input, reported in one line, exit status 2.

Exit statuses of `python -m runner` (docs/errors.md): 0 every case measured (or n/a),
3 some or all cases failed, 2 bad input, 4 `report` skipped unreadable stored files,
5 the disk filled up (a result could not be stored), 130 interrupted.

Everything the runner can blame on its input (a suite, a manifest, a stored result, a
missing tool) raises `BenchError` with a message that names the file, the key and what
was expected. The CLI prints it without a traceback.
"""

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_CASES_FAILED = 3
EXIT_DISK_FULL = 5
EXIT_INTERRUPTED = 130
EXIT_REPORT_INCOMPLETE = 4   # `report`: stored files skipped; README's summary left as it was


class BenchError(Exception):
    """A problem with the user's input or machine, explained in one line."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None,
                 line: int | None = None):
        where = ""
        if file:
            where = str(file)
            if line:
                where += f":{line}"
            where += ": "
        if key:
            where += f"{key}: "
        super().__init__(f"{where}{message}")
