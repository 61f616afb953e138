"""Load a YAML file into plain data and remember the line of every key.

Validation errors must point at the line a user has to fix; PyYAML knows it while
composing, so we walk the node tree once and keep a map from key path to line.

Before that, the file must be within limits that no suite or manifest comes near, so a
hostile or broken file fails in a second with one line instead of hanging or crashing
the runner: its size, its encoding (UTF-8), the nesting of its collections (PyYAML's
composer recurses), the values it holds once aliases are expanded (a "billion laughs"
of a dozen lines expands to millions) and the length of each string. The limits are
checked on PyYAML's event stream (libyaml's parser when available: fast, not recursive),
which stops at the first value beyond a limit.
"""

from pathlib import Path

import pydantic
import yaml

from ..errors import BenchError

Path_ = tuple[str | int, ...]


def _lines(node, path: Path_, out: dict[Path_, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _lines(value_node, path + (key,), out)
            out[path + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, path + (index,), out)


MAX_BYTES = 1 << 20    # a suite or manifest is a few KiB
MAX_DEPTH = 64         # collections inside collections
MAX_NODES = 10_000     # values (keys included) once aliases are expanded
MAX_STRING = 10_000    # characters in one string

_EventLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def check_limits(text: str, file: str) -> None:
    """BenchError at the first place text goes beyond a limit; malformed YAML is left to
    the full parse, which says where."""
    if len(text) > MAX_BYTES:
        raise BenchError(f"{len(text)} characters; a suite or manifest may be at most 1 MiB",
                         file=file)
    nodes = 0
    open_: list[list] = []        # [anchor, values inside] of each collection being read
    sizes: dict[str, int] = {}    # anchor -> values it stands for
    try:
        for event in yaml.parse(text, Loader=_EventLoader):
            line = event.start_mark.line + 1
            if isinstance(event, _CLOSE):
                anchor, size = open_.pop()
                if open_:
                    open_[-1][1] += size
                if anchor:
                    sizes[anchor] = size
                continue
            if isinstance(event, _OPEN):
                open_.append([event.anchor, 0])
                if len(open_) > MAX_DEPTH:
                    raise BenchError(f"nested more than {MAX_DEPTH} levels deep",
                                     file=file, line=line)
                added = 1
            elif isinstance(event, yaml.ScalarEvent):
                if len(event.value) > MAX_STRING:
                    raise BenchError(f"a string of {len(event.value)} characters; at most "
                                     f"{MAX_STRING} are allowed", file=file, line=line)
                added = 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                added = sizes.get(event.anchor, 1)
            else:
                continue
            nodes += added
            if open_:
                open_[-1][1] += added
            if nodes > MAX_NODES:
                raise BenchError(f"more than {MAX_NODES} values, counting an alias (*name) "
                                 "as the values it stands for; a suite or manifest needs "
                                 "far fewer", file=file, line=line)
    except (yaml.YAMLError, ValueError):  # ValueError: text libyaml cannot encode
        return


def parse_yaml(text: str, file: str) -> tuple[object, dict[Path_, int]]:
    """Return (data, lines): the document and the 1-based line of each key path."""
    check_limits(text, file)
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BenchError(f"malformed YAML: {problem}", file=file,
                         line=mark.line + 1 if mark else None) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Path_, int] = {}
    if node is not None:
        _lines(node, (), lines)
    return data, lines


def read_text(path: Path) -> str:
    """The file's text, if it is at most MAX_BYTES of UTF-8; else a BenchError."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BenchError(f"{size} bytes; a suite or manifest may be at most 1 MiB",
                             file=str(path))
        data = path.read_bytes()
    except OSError as exc:
        raise BenchError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise BenchError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column}); "
                         "save the file as UTF-8", file=str(path),
                         line=before.count(b"\n") + 1) from None


def load_yaml(path: Path) -> tuple[object, dict[Path_, int]]:
    return parse_yaml(read_text(path), str(path))


def format_key(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def line_of(loc: Path_, lines: dict[Path_, int]) -> int | None:
    """The line of the deepest known prefix of loc."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def raise_validation(exc: pydantic.ValidationError, file: str,
                     lines: dict[Path_, int]) -> None:
    """Turn pydantic's first error into a one-line BenchError."""
    err = exc.errors()[0]
    # pydantic adds the tag of a union branch to loc; keep only real keys
    loc = tuple(p for p in err["loc"] if isinstance(p, int) or not str(p).startswith("function-"))
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif err["type"] == "missing":
        message = "required key is missing"
    elif message.startswith("Value error, "):
        message = message[len("Value error, "):]
    got = err.get("input")
    if err["type"] not in ("missing", "extra_forbidden") and not isinstance(got, (dict, list)):
        message += f" (got {got!r})"
    raise BenchError(message, file=file, key=format_key(loc), line=line_of(loc, lines)) from None
