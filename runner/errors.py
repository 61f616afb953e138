"""The one error type a user sees: bad input, reported in one line, exit status 2.

Everything the runner can blame on its input (a suite, a manifest, a stored result, a
missing tool) raises `BenchError` with a message that names the file, the key and what
was expected. The CLI prints it without a traceback.
"""


class BenchError(Exception):
    """A problem with the user's input or machine, explained in one line."""

    exit_code = 2

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
