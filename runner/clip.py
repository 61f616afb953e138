"""Bounds, in bytes, on every output the runner keeps from a program it ran.

A server or a setup step may print anything, one 50 MB line included; what reaches a
reason, a case file or a report is cut to a few KiB, and each cut says so.
"""

TAIL_BYTES = 8 * 1024    # a log tail or a tool's text kept in a result, at most
LINE_BYTES = 300         # one line of it, at most


def _utf8(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def clip_line(line: str, limit: int = LINE_BYTES) -> str:
    """line, or its first `limit` bytes and how many more were cut."""
    data = line.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return line
    return f"{_utf8(data[:limit])}[... {len(data) - limit} more bytes cut]"


def clip_tail(text: str, limit: int = TAIL_BYTES, line_limit: int = LINE_BYTES) -> str:
    """The end of text within about `limit` bytes, each line cut to `line_limit` bytes;
    a first line says how much was cut before it."""
    data = text.encode("utf-8", errors="replace")
    cut = max(0, len(data) - limit)
    lines = [clip_line(line, line_limit) for line in _utf8(data[cut:]).splitlines()]
    if cut:
        lines.insert(0, f"[... {cut} earlier bytes cut]")
    return "\n".join(lines)
