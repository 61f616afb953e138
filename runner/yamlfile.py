"""Load a YAML file into plain data and remember the line of every key.

Validation errors must point at the line a user has to fix; PyYAML knows it while
composing, so we walk the node tree once and keep a map from key path to line.
"""

from pathlib import Path

import pydantic
import yaml

from .errors import BenchError

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


def parse_yaml(text: str, file: str) -> tuple[object, dict[Path_, int]]:
    """Return (data, lines): the document and the 1-based line of each key path."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BenchError(f"malformed YAML: {problem}", file=file,
                         line=mark.line + 1 if mark else None) from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _lines(node, (), lines)
    return data, lines


def load_yaml(path: Path) -> tuple[object, dict[Path_, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    return parse_yaml(text, str(path))


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
