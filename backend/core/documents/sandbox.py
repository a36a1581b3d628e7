"""The template sandbox: what runs inside a template worker process (see renderer.py).

Jinja2's SandboxedEnvironment stops a template from reaching Python's internals, but not from
spending the process's time and memory: `{{ 7**6000000 }}` is computed while the template is
compiled (constant folding), `{% for %}` loops nest, `'x' * 10**9` allocates a gigabyte. So
templates are compiled and rendered only here, in a separate process with a memory limit and a
deadline, and this environment refuses the common ways to ask for too much with a clear error
before the limits have to strike:

- `**` and `*` on numbers whose result would exceed MAX_INT_BITS bits, `*` repeating a text
  or a list beyond MAX_OUTPUT items (both intercepted, so never folded at compile time);
- `range()` longer than MAX_RANGE;
- an output longer than the caller's limit (counted while rendering).

Run as `python -m backend.core.documents.sandbox`: one JSON request per line on stdin, one
JSON answer per line on stdout. It imports nothing of the app but Jinja2.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

MAX_RANGE = 10_000
MAX_INT_BITS = 4_096  # about 1,200 decimal digits; Python refuses to print over 4,300 anyway
MAX_OUTPUT = 50_000  # characters, unless the caller asks for less


class Refused(jinja2.TemplateError):
    """The template asked for more than the sandbox gives."""


class Deadline(Exception):
    """The request's time ran out inside the worker."""


def _bounded_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise Refused(f"range() longer than {MAX_RANGE}")
    return r


def _bits(value: int) -> int:
    return max(abs(value).bit_length(), 1)


class BoundedSandbox(SandboxedEnvironment):
    """SandboxedEnvironment that refuses huge numbers, repetitions and ranges."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.globals["range"] = _bounded_range

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and ints and abs(left) > 1 and right > 0 and _bits(left) * right > MAX_INT_BITS:
            raise Refused(f"a power with more than {MAX_INT_BITS} bits")
        if operator == "*":
            if ints and _bits(left) + _bits(right) > MAX_INT_BITS:
                raise Refused(f"a product with more than {MAX_INT_BITS} bits")
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_OUTPUT:
                    raise Refused(f"a repetition longer than {MAX_OUTPUT}")
        return super().call_binop(context, operator, left, right)


ENV = BoundedSandbox()


class _TooLong(Exception):
    pass


def _render(source: str, context: dict[str, Any], max_output: int) -> str:
    parts: list[str] = []
    size = 0
    for chunk in ENV.from_string(source).generate(**context):
        size += len(chunk)
        if size > max_output:
            raise _TooLong
        parts.append(chunk)
    return "".join(parts).strip()


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.encode("utf-8", "replace").decode("utf-8")[:300]


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Answer one request: `{"op": "check", "source", "fields", "sample"?}` checks that the
    template parses, names only `fields` and (given a sample context) renders;
    `{"op": "render", "source", "context"}` renders. Failures are `{"ok": false, "kind", "detail"}`."""
    source = request["source"]
    max_output = min(int(request.get("max_output") or MAX_OUTPUT), MAX_OUTPUT)
    try:
        if request["op"] == "check":
            unknown = meta.find_undeclared_variables(ENV.parse(source)) - set(request["fields"])
            if unknown:
                return {"ok": False, "kind": "unknown_field", "detail": ", ".join(sorted(unknown))}
            if request.get("sample") is not None:
                _render(source, request["sample"], max_output)
            return {"ok": True}
        return {"ok": True, "text": _render(source, request["context"], max_output)}
    except jinja2.UndefinedError as exc:
        return {"ok": False, "kind": "unknown_field", "detail": _short(exc)}
    except jinja2.TemplateError as exc:  # syntax errors, the sandbox's refusals, Refused
        return {"ok": False, "kind": "error", "detail": _short(exc)}
    except _TooLong:
        return {"ok": False, "kind": "too_long", "detail": str(max_output)}
    except Deadline:
        return {"ok": False, "kind": "timeout", "detail": ""}
    except MemoryError:
        return {"ok": False, "kind": "memory", "detail": ""}
    except RecursionError:
        return {"ok": False, "kind": "error", "detail": "nested too deeply"}
    except Exception as exc:  # noqa: BLE001 - 1/0, int('x'), a 5,000-digit number printed ...
        return {"ok": False, "kind": "error", "detail": f"{type(exc).__name__}: {_short(exc)}"}


def _on_alarm(signum: int, frame: object) -> None:
    raise Deadline


def main() -> None:
    """The worker loop; exits when the app closes its end of the pipe."""
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if limit:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Python loops are interrupted here; a long C call (a huge join) is ended by the app,
    # which kills the worker shortly after the same deadline.
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the app, which ends us
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        signal.setitimer(signal.ITIMER_REAL, float(request.get("timeout") or 1.0))
        try:
            answer = handle(request)
        except Deadline:  # between handle's own try and its return
            answer = {"ok": False, "kind": "timeout", "detail": ""}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        out.write(json.dumps(answer, ensure_ascii=True) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
