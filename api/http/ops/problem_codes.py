"""Every problem code the API can answer, found in the code itself, and which operation can answer which.

Nothing here is a hand-written list of codes. The catalogue is built from:

- the `LedgerError` subclasses (`ledger/errors.py`): code, docstring, status from `LEDGER_STATUS`;
- the refusals written in `api/http` (`ApiError(<status>, "<code>", ...)`, `conflict("<code>", ...)`,
  `forbidden(...)`, `not_found(...)`, `problem(<status>, "<code>", ...)`), read from the source with
  `ast`, each with the module (feature folder) it is raised in;
- the few codes the framework's own errors are mapped to (`FRAMEWORK`, in `problems.py`'s handler).

Which codes an operation can answer (`codes_for`) is an over-approximation chosen so that it needs no
table by route: the codes raised in the endpoint's module and in every api/http module it imports,
however indirectly (its service, access rules, pagination, freshness...), plus the shared ones
(sign-in and roles for a signed-in route, validation for one with parameters, body checks for one
with a body, idempotency for a write (without the middleware's `request_in_progress` for a
route whose key the ledger alone keeps), the database's 503), plus, for a write of the stock or order
folders, the codes of the ledger errors the handlers of its commands can raise (the modules of
`COMMAND_HANDLERS`' decide functions and the shared `ledger/rules.py`, read with `ast`).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, get_args

import api.http
import ledger.rules
from api.http.problems import LEDGER_STATUS
from ledger import errors
from ledger.commands import StockCommand
from ledger.decide import COMMAND_HANDLERS
from ledger.orders.commands import OrderCommand

HTTP_ROOT = Path(api.http.__file__).parent


@dataclass(frozen=True)
class Code:
    """One problem code: its HTTP status and what it means."""

    code: str
    status: int
    description: str


# The framework's own errors, as problems.py maps them (HTTPException and request validation).
FRAMEWORK = (
    Code("not_authenticated", 401, "No bearer token was sent, or it is not one this service issued."),
    Code("not_found", 404, "No such path, or the resource does not exist or is not visible to the caller."),
    Code("method_not_allowed", 405, "The path exists but not with this method."),
    Code("malformed_json", 400, "The request body is not valid JSON."),
    Code("validation_error", 422, "The request is not valid; `errors` lists each field and why."),
)
SIGNED_IN = ("not_authenticated", "invalid_token", "account_inactive", "forbidden")
WITH_BODY = ("malformed_json", "validation_error", "invalid_text", "invalid_body", "invalid_value")
# Their refusals are the shared ones above (and problems.py's last resort, the 500, is not a refusal).
WRITE = ("idempotency_conflict", "request_in_progress")
# A write whose key the ledger alone keeps: a twin in flight waits for the first's answer (no 409).
LEDGER_KEPT_WRITE = ("idempotency_conflict",)
ALWAYS = ("database_unavailable",)
SHARED_MODULES = ("deps.py", "problems.py", "middleware")


@dataclass(frozen=True)
class Raised:
    """A refusal found in the source: code, status, its first literal detail, and where."""

    code: str
    status: int
    detail: str | None
    path: Path


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "…" for v in node.values)
    return None


def _refusal(call: ast.Call) -> tuple[int, str, str | None] | None:
    """(status, code, detail) of an ApiError/problem/conflict/forbidden/not_found call with literals."""
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
    args = call.args
    if name in ("ApiError", "problem") and len(args) >= 2:
        status, code = args[0], args[1]
        if isinstance(status, ast.Constant) and isinstance(status.value, int) and _literal(code):
            return status.value, str(_literal(code)), _literal(args[2]) if len(args) > 2 else None
    if name == "conflict" and args and isinstance(args[0], ast.Constant) and _literal(args[0]):
        return 409, str(_literal(args[0])), _literal(args[1]) if len(args) > 1 else None
    if name == "forbidden":
        return 403, "forbidden", _literal(args[0]) if args else None
    if name == "not_found":
        return 404, "not_found", None
    return None


# reference/common.py's `refusals(UNIQUE, CHECKS)`: constraint name -> (code, detail), 409 and 422.
CONSTRAINT_TABLES = {"UNIQUE": 409, "CHECKS": 422}


def _constraint_refusals(node: ast.Assign) -> list[tuple[int, str, str | None]]:
    targets = [t.id for t in node.targets if isinstance(t, ast.Name) and t.id in CONSTRAINT_TABLES]
    if not targets or not isinstance(node.value, ast.Dict):
        return []
    return [
        (CONSTRAINT_TABLES[targets[0]], str(_literal(v.elts[0])), _literal(v.elts[1]))
        for v in node.value.values
        if isinstance(v, ast.Tuple) and len(v.elts) == 2 and _literal(v.elts[0])
    ]


@functools.cache
def raised_in_api() -> tuple[Raised, ...]:
    """Every literal refusal in api/http, with the file it is in."""
    found = []
    for path in sorted(HTTP_ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and (refusal := _refusal(node)) is not None:
                found.append(Raised(refusal[1], refusal[0], refusal[2], path))
            elif isinstance(node, ast.Assign):
                found += [Raised(c, s, d, path) for s, c, d in _constraint_refusals(node)]
    return tuple(found)


def _ledger_classes() -> list[type[errors.LedgerError]]:
    pending, seen = [errors.LedgerError], []
    while pending:
        for sub in pending.pop().__subclasses__():
            seen.append(sub)
            pending.append(sub)
    return seen


@functools.cache
def catalogue() -> dict[str, Code]:
    """Every code, by name: the ledger's errors, the API's refusals and the framework's."""
    codes: dict[str, Code] = {}
    for cls in _ledger_classes():
        codes[cls.code] = Code(cls.code, LEDGER_STATUS.get(cls.code, 422), (cls.__doc__ or "").strip())
    for raised in raised_in_api():
        if raised.code not in codes:
            detail = raised.detail or raised.code.replace("_", " ")
            codes[raised.code] = Code(raised.code, raised.status, detail[:1].upper() + detail[1:] + ".")
    for code in FRAMEWORK:
        codes[code.code] = code
    return codes


def _raised_by(module: ModuleType) -> set[str]:
    """Codes of the LedgerError classes a ledger module names (`errors.X` or an imported `X`)."""
    names = {
        node.attr if isinstance(node, ast.Attribute) else node.id
        for node in ast.walk(ast.parse(inspect.getsource(module)))
        if isinstance(node, ast.Attribute | ast.Name)
    }
    return {cls.code for cls in _ledger_classes() if cls.__name__ in names}


@functools.cache
def ledger_codes(family: str) -> frozenset[str]:
    """The ledger codes the handlers of a command family ("stock" or "orders") can raise."""
    union = StockCommand if family == "stock" else OrderCommand
    modules = {inspect.getmodule(COMMAND_HANDLERS[kind].decide) for kind in get_args(union)}
    codes = _raised_by(ledger.rules) | {"concurrency_conflict", "idempotency_conflict"}
    for module in modules:
        if module is not None:
            codes |= _raised_by(module)
    return frozenset(codes)


def _source(function: Callable[..., Any]) -> Path:
    source = inspect.getsourcefile(function)
    assert source is not None, function
    return Path(source)


def _module_file(dotted: str) -> Path | None:
    """The file of an `api.http` module, or None (a name inside a module, or another package)."""
    if not dotted.startswith("api.http"):
        return None
    base = HTTP_ROOT.parent.parent.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def reached(path: Path) -> frozenset[Path]:
    """`path` and every api/http module it imports, however indirectly (shared handlers left out)."""
    seen: set[Path] = set()
    todo = [path]
    while todo:
        here = todo.pop()
        shared = any(part in SHARED_MODULES for part in here.relative_to(HTTP_ROOT).parts)
        if here in seen or (shared and here != path):
            continue
        seen.add(here)
        for node in ast.walk(ast.parse(here.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            todo += [f for f in map(_module_file, names) if f is not None]
    return frozenset(seen)


def _captured_functions(endpoint: Callable[..., Any]) -> list[Callable[..., Any]]:
    """What an endpoint made by a function runs: the functions it closes over, directly or as fields.

    orders/routing.py closes over the access check; reference/routing.py over a table entry (a
    dataclass) whose fields are the service functions that refuse.
    """
    found: list[Callable[..., Any]] = []
    for cell in endpoint.__closure__ or ():
        value = cell.cell_contents
        values = [getattr(value, f.name) for f in dataclasses.fields(value)] if _is_entry(value) else [value]
        found += [v for v in values if inspect.isfunction(v)]
    return found


def _is_entry(value: object) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def codes_for(
    endpoint: Callable[..., Any],
    method: str,
    public: bool,
    has_input: bool,
    has_body: bool,
    *,
    by_ledger: bool = False,
) -> list[Code]:
    """The codes an operation can answer, by status then name (see the module docstring).

    `by_ledger`: a write whose Idempotency-Key the ledger alone keeps (the middleware lets it by).
    """
    endpoint_file = _source(endpoint)
    captured = _captured_functions(endpoint)
    modules = reached(endpoint_file).union(*(reached(_source(f)) for f in captured))
    names = {r.code for r in raised_in_api() if r.path in modules} | set(ALWAYS)
    if not public:
        names |= set(SIGNED_IN)
    if has_input:
        names.add("validation_error")
    if has_body:
        names |= set(WITH_BODY)
    if method != "get":
        names |= set(LEDGER_KEPT_WRITE if by_ledger else WRITE)
        family = endpoint_file.relative_to(HTTP_ROOT).parts[0]  # stock/..., orders/...
        if family in ("stock", "orders"):
            names |= ledger_codes(family)
    every = catalogue()
    return sorted((every[n] for n in names if n in every), key=lambda c: (c.status, c.code))
