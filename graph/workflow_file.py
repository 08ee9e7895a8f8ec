"""Workflows defined in YAML: `load_workflow(path)` validates the file and builds the same `Workflow`
the Python API builds.

The file's keys (unknown keys are refused; `name`, `description`, `instructions` and `roles` are
required)::

    name: refunds
    description: ...
    instructions: ...
    roles:
      - {name: researcher, description: ..., tools: [lookup_customer], instructions: ...,
         criteria: [...], after: [...], must_call: [...], required: bool,
         sees_tool_results: bool,
         done_check: my_package.checks:unsent,       # (actions, request) -> what is left undone, or None
         answer_check: {import: "my_package.checks:answer_check()", args: {...}}}   # (answer, actions, request)
    tools:                                   # import paths: "module:function" or "module:factory()"
      - my_package.tools:send_email          # a function (its docstring describes it), a tool or a ToolSpec
      - import: my_package.tools:crm_tools()  # a factory returning ToolSpec(s), called with `args`
        args: {base_url: https://crm.example}
        risk: write                          # risk / scopes for every tool of the entry...
        overrides: {delete_contact: {risk: irreversible, scopes: [crm:delete]}}   # ...or per tool
      - import: my_package.billing:issue_refund  # an entry giving one tool may also set, for that tool:
        grounding: {purchase_id: observed}   # where an argument's value must come from (request/observed/seen/free)
        intent: "refund|money back"          # a regex the request must match for the tool to be called at all
      - import: ./local_tools.py:lookup      # a .py file next to the workflow file
    kits:                                    # tool kits: {kit: name-or-import-path, ...options}
      - {kit: files, root: ./data}
    mcp_servers:                             # see taskwarden.tools.mcp.McpServer
      tickets: {command: python, args: [server.py], trust_read_only_hint: true}
    policies:                                # see taskwarden.tools.policy_text
      vars: {allowlist: [alice@example.com]}
      rules: |
        send_email when to not in allowlist -> forbid
    budgets: {max_steps: 30}
    confirm: [send_email]                    # tools the requester must confirm (an explicit yes) before they run
    reliability: {grounding: true, loop_recovery: true, max_steps_without_progress: 4}   # see graph/reliability.py
    models: {worker: openai:gpt-4o-mini}
    redact: secrets                          # what models see: secrets (default), pii or off
    plan_hint: ...
    answer_from: {tool: draft_reply, argument: message}
    validate_request: my_package.checks:request_problem
    sample_requests: [...]
    input_schema: my_package.schemas:Ticket  # a Pydantic model webhook payloads must match
    trigger_filter: source == 'web form'     # which trigger events start a run (policy expression)

Relative paths (``./x.py`` imports, an MCP server's working directory) resolve against the file's
folder. Every problem is reported as a `WorkflowFileError` naming the file and the key.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any, Union, get_args, get_origin

import yaml
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from taskwarden.graph.reliability import MECHANISMS, Reliability
from taskwarden.graph.usage import Budgets
from taskwarden.graph.workflow import Workflow
from taskwarden.tools.mcp import McpLoadError, McpServer, load_mcp_tools
from taskwarden.tools.policy import PolicyRule
from taskwarden.tools.policy_text import PolicySyntaxError, check_constants, check_names, parse_policies, parse_rule
from taskwarden.tools.redact import RedactionLevel
from taskwarden.tools.registry import GroundRule, Risk, Role, ToolSpec, tool_spec

KITS_MODULE = "taskwarden.tools.kits"
"""Where a kit given by bare name is looked up: ``kit: files`` is ``FilesKit`` (or ``Files``) there."""
_IMPORT = re.compile(r"(?P<module>[\w.]+|[^:]+\.py):(?P<attr>[A-Za-z_][\w.]*)(?P<call>\(\))?")


class WorkflowFileError(ValueError):
    """A workflow file that cannot be read, does not follow the schema, or does not build."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_intent(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"intent {value!r} is not a regular expression: {exc}") from None
    return value


class ToolSettings(_Spec):
    risk: Risk | None = None
    scopes: list[str] | None = None
    grounding: dict[str, GroundRule] | None = None
    """Where each named argument's value must come from: ``request``, ``observed``, ``seen`` or ``free``;
    merged over the `ToolSpec`'s own (`taskwarden.tools.registry.ToolSpec.grounding`)."""
    intent: str | None = None
    """A regular expression (case-insensitive) the request must match for the tool to be called at all."""

    check_intent = field_validator("intent")(_check_intent)


class _ImportEntry(_Spec):
    """An import path, ``package.module:attr`` or ``./file.py:attr``; with ``()``, a factory called with `args`.
    A bare string is the shorthand for ``{import: ...}``."""

    import_: str = Field(alias="import")
    args: dict[str, Any] = {}
    """Keyword arguments for a factory (``module:factory()``)."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"import": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> _ImportEntry:
        match = _IMPORT.fullmatch(self.import_)
        if not match:
            raise ValueError(f"import {self.import_!r} must look like `package.module:function`, "
                             "`package.module:factory()` or `./file.py:function`")
        if self.args and not match["call"]:
            raise ValueError("`args` are for factories: end the import with `()`")
        return self


class CheckEntry(_ImportEntry):
    """A role's done or answer check in code (`taskwarden.tools.registry.Role.done_check`): a function, or a
    factory (``()``) returning one, e.g. a method of the object that also gives the workflow's tools."""


class RoleSpec(_Spec):
    name: str
    description: str
    tools: list[str] = []
    instructions: str = ""
    criteria: list[str] = []
    after: list[str] = []
    must_call: list[str] = []
    required: bool = False
    sees_tool_results: bool = False
    done_check: CheckEntry | None = None
    """What a task of this role left undone, re-read from the system: called with (actions, request)."""
    answer_check: CheckEntry | None = None
    """What a task's answer still lacks: called with (answer, actions, request)."""


class ToolEntry(_ImportEntry):
    """One import: a function, a LangChain tool or a `ToolSpec`, or a factory (``()``) of those."""

    name: str | None = None
    """Tool name for a plain function (default: the function's name)."""
    risk: Risk | None = None
    scopes: list[str] | None = None
    grounding: dict[str, GroundRule] | None = None
    """Per-argument grounding rules, for an entry that gives exactly one tool (else use `overrides`)."""
    intent: str | None = None
    """The request pattern, for an entry that gives exactly one tool (else use `overrides`)."""
    overrides: dict[str, ToolSettings] = {}

    check_intent = field_validator("intent")(_check_intent)


class KitEntry(BaseModel):
    """``{kit: name-or-import-path, ...options}``: the options are the kit factory's keyword arguments."""

    model_config = ConfigDict(extra="allow")
    kit: str


ReliabilitySpec = create_model(
    "ReliabilitySpec", __base__=_Spec, __doc__="``reliability:``: which mechanisms are on (all by default).",
    **{name: (bool, True) for name in MECHANISMS},
    max_steps_without_progress=(int, Reliability.max_steps_without_progress),
)


class AnswerFrom(_Spec):
    tool: str
    argument: str


class PoliciesSpec(_Spec):
    vars: dict[str, Any] = {}
    """Named constants the rules' conditions may read (e.g. ``allowlist``)."""
    rules: str | list[str] = []
    """A block of rule lines, or a list with one rule per item."""

    @field_validator("rules", mode="before")
    @classmethod
    def _rejoin(cls, value: Any) -> Any:
        """YAML reads an unquoted list item ``- never: x`` or ``- x -> forbid: why`` as a one-key
        mapping; put the line back together."""
        if isinstance(value, list):
            return [_rejoined(item) for item in value]
        return value


def _rejoined(item: Any) -> Any:
    if isinstance(item, dict) and len(item) == 1:
        (key, val), = item.items()
        if isinstance(key, str) and val is not None and not isinstance(val, (dict, list)):
            return f"{key}: {val}"
    return item


class WorkflowSpec(_Spec):
    """The schema of a workflow file."""

    name: str
    description: str
    instructions: str
    roles: list[RoleSpec] = Field(min_length=1)
    tools: list[ToolEntry] = []
    kits: list[KitEntry] = []
    mcp_servers: dict[str, McpServer] = {}
    policies: PoliciesSpec = PoliciesSpec()
    budgets: dict[str, int | float] = {}
    confirm: list[str] = []
    reliability: ReliabilitySpec = ReliabilitySpec()  # type: ignore[valid-type]
    models: dict[str, str] = {}
    redact: RedactionLevel = "secrets"
    plan_hint: str = ""
    answer_from: AnswerFrom | None = None
    validate_request: str | None = None
    sample_requests: list[str] = []
    input_schema: str | None = None
    trigger_filter: str | None = None

    @field_validator("policies", mode="before")
    @classmethod
    def _rules_only(cls, value: Any) -> Any:
        return {"rules": value} if isinstance(value, (str, list)) else value


def load_workflow(path: str | Path) -> Workflow:
    """Read, validate and build the workflow in the YAML file at `path` (MCP servers are started to
    list their tools). Raises `WorkflowFileError` naming the file and the key at fault."""
    path = Path(path)
    spec = read_spec(path)
    base = path.resolve().parent

    def fail(key: str, problem: object) -> WorkflowFileError:
        return WorkflowFileError(f"{path}: {key}: {problem}")

    try:
        policies = _policies(spec.policies)  # before anything is imported or started
    except ValueError as exc:
        raise fail("policies", exc) from exc
    tools: list[ToolSpec] = []
    for index, entry in enumerate(spec.tools):
        try:
            tools.extend(_entry_specs(entry, base))
        except Exception as exc:
            raise fail(f"tools[{index}] ({entry.import_})", _describe(exc)) from exc
    for index, kit in enumerate(spec.kits):
        try:
            tools.extend(_kit_specs(kit, base))
        except Exception as exc:
            raise fail(f"kits[{index}] ({kit.kit})", _describe(exc)) from exc
    if spec.mcp_servers:
        try:
            tools.extend(load_mcp_tools(spec.mcp_servers, base))
        except McpLoadError as exc:
            raise fail("mcp_servers", exc) from exc
    try:
        check_names(policies, {tool.name: list(tool.tool.args) for tool in tools})
    except ValueError as exc:
        raise fail("policies", exc) from exc
    try:
        budgets = Budgets(**spec.budgets)
    except TypeError:
        known = ", ".join(item.name for item in fields(Budgets))
        raise fail("budgets", f"unknown budget in {sorted(spec.budgets)}; known: {known}") from None
    except ValueError as exc:
        raise fail("budgets", exc) from exc
    try:
        reliability = Reliability(**spec.reliability.model_dump())
    except ValueError as exc:
        raise fail("reliability", exc) from exc

    def imported(key: str, reference: str | None) -> Any:
        if not reference:
            return None
        try:
            return _import(reference, base)
        except Exception as exc:
            raise fail(key, _describe(exc)) from exc

    validate_request = imported("validate_request", spec.validate_request)
    input_schema = imported("input_schema", spec.input_schema)
    if input_schema is not None:
        if not (isinstance(input_schema, type) and issubclass(input_schema, BaseModel)):
            raise fail("input_schema", f"{spec.input_schema} is not a Pydantic model class")
    roles = []
    for index, role in enumerate(spec.roles):
        checks = {}
        for key, arity in (("done_check", 2), ("answer_check", 3)):
            entry = getattr(role, key)
            if entry is not None:
                try:
                    checks[key] = _check_from(entry, base, arity)
                except Exception as exc:
                    raise fail(f"roles[{index}].{key} ({entry.import_})", _describe(exc)) from exc
        roles.append(_role(role, **checks))
    try:
        return Workflow(
            name=spec.name, description=spec.description, instructions=spec.instructions,
            roles=roles, tools=tools, policies=policies, budgets=budgets,
            plan_hint=spec.plan_hint, models=dict(spec.models),
            answer_from=(spec.answer_from.tool, spec.answer_from.argument) if spec.answer_from else None,
            validate_request=validate_request, sample_requests=list(spec.sample_requests), redact=spec.redact,
            input_schema=input_schema, trigger_filter=spec.trigger_filter, reliability=reliability,
            confirm=tuple(spec.confirm),
        )
    except ValueError as exc:
        raise WorkflowFileError(f"{path}: {exc}") from exc


def read_spec(path: Path) -> WorkflowSpec:
    """Parse and validate the file against `WorkflowSpec` (nothing is imported or started)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowFileError(f"{path}: no such workflow file") from None
    except OSError as exc:
        raise WorkflowFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise WorkflowFileError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise WorkflowFileError(f"{path}: a workflow file is a mapping of keys (name, description, ...), "
                                f"not {type(data).__name__}")
    try:
        return WorkflowSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise WorkflowFileError(f"{path}: {problems}") from None


def _role(role: RoleSpec, **checks: Callable[..., str | None]) -> Role:
    return Role(role.name, role.description, tuple(role.tools), instructions=role.instructions,
                criteria=tuple(role.criteria), after=tuple(role.after), must_call=tuple(role.must_call),
                required=role.required, sees_tool_results=role.sees_tool_results, **checks)


def _check_from(entry: CheckEntry, base: Path, arity: int) -> Callable[..., str | None]:
    """The check an entry gives (a factory's result when it ends with ``()``), refused unless it can be
    called with `arity` positional arguments, as the engine will call it."""
    target = _import(entry.import_, base)
    check = target(**entry.args) if entry.import_.endswith("()") else target
    if not callable(check):
        raise TypeError(f"expected a function, got a {type(check).__name__}")
    try:
        inspect.signature(check).bind(*range(arity))
    except TypeError:
        called = "(actions, request)" if arity == 2 else "(answer, actions, request)"
        raise TypeError(f"{getattr(check, '__name__', check)!r} cannot be called as {called}: it takes "
                        f"{inspect.signature(check)}") from None
    except ValueError:  # no signature to read (a builtin): the engine's call will tell
        pass
    return check


def _policies(spec: PoliciesSpec) -> list[PolicyRule]:
    check_constants(spec.vars)
    if isinstance(spec.rules, str):
        try:
            return parse_policies(spec.rules, spec.vars)
        except PolicySyntaxError as exc:
            raise ValueError(f"rules {exc}") from None
    rules = []
    for index, line in enumerate(spec.rules):
        try:
            rules.append(parse_rule(line, spec.vars))
        except PolicySyntaxError as exc:
            raise ValueError(f"rules[{index}]: {exc.problem}: {line!r}") from None
    return rules


def _entry_specs(entry: ToolEntry, base: Path) -> list[ToolSpec]:
    target = _import(entry.import_, base)
    value = target(**entry.args) if entry.import_.endswith("()") else target
    if callable(value) and not isinstance(value, (BaseTool, ToolSpec)):
        value = tool_spec(value, name=entry.name)
    elif entry.name:
        raise ValueError("`name` renames a plain function; this import gives tools that are already named")
    specs = _specs_from(value)
    unknown = sorted(set(entry.overrides) - {spec.name for spec in specs})
    if unknown:
        raise ValueError(f"overrides name tools it does not give: {unknown}; it gives {[spec.name for spec in specs]}")
    if (entry.grounding is not None or entry.intent is not None) and len(specs) != 1:
        raise ValueError(f"`grounding` and `intent` beside the import are for an entry that gives one tool; this one "
                         f"gives {[spec.name for spec in specs]}: set them per tool under `overrides`")
    own = ToolSettings(grounding=entry.grounding, intent=entry.intent)
    return [_override(_override(spec, own, entry.risk, entry.scopes), entry.overrides.get(spec.name), None, None)
            for spec in specs]


def _kit_specs(entry: KitEntry, base: Path) -> list[ToolSpec]:
    """The hook for tool kits: ``kit`` is an import path of a factory or kit class, or the name of a kit
    in `KITS_MODULE` (``python_sandbox`` -> ``PythonSandboxKit`` or ``PythonSandbox``). The entry's
    other keys are its keyword arguments; a string starting with ``./`` or ``../`` is a path
    relative to the workflow file. The result gives its tools directly or from ``tools()``."""
    if ":" in entry.kit:
        factory = _import(entry.kit, base)
    else:
        kits = import_module(KITS_MODULE)
        camel = "".join(part.capitalize() for part in entry.kit.split("_"))
        factory = getattr(kits, f"{camel}Kit", None) or getattr(kits, camel, None)
        if not callable(factory):
            known = sorted(name for name in dir(kits) if name[:1].isupper() and hasattr(getattr(kits, name), "tools"))
            raise ValueError(f"no kit {entry.kit!r} in {KITS_MODULE} (it has {', '.join(known)}); "
                              "or give an import path, `package.module:factory`")
    options = {key: str(base / value) if isinstance(value, str) and value.startswith(("./", "../")) else value
               for key, value in (entry.model_extra or {}).items()}
    return _specs_from(factory(**options))


def _override(spec: ToolSpec, settings: ToolSettings | None, risk: Risk | None, scopes: list[str] | None) -> ToolSpec:
    risk = (settings and settings.risk) or risk
    scopes = settings.scopes if settings and settings.scopes is not None else scopes
    changes: dict[str, Any] = {}
    if risk:
        changes["risk"] = risk
    if scopes is not None:
        changes["scopes"] = tuple(scopes)
    if settings and settings.grounding:
        unknown = sorted(set(settings.grounding) - set(spec.tool.args))
        if unknown:
            raise ValueError(f"grounding names arguments {spec.name} does not take: {unknown}; "
                             f"it takes {sorted(spec.tool.args)}")
        changes["grounding"] = {**(spec.grounding or {}), **settings.grounding}
    if settings and settings.intent is not None:
        changes["intent"] = settings.intent
    return replace(spec, **changes) if changes else spec


def _specs_from(value: Any) -> list[ToolSpec]:
    """ToolSpec(s) from what an import or factory gave: a ToolSpec, a LangChain tool (risk ``write``),
    an iterable of those, or an object (a kit) whose ``tools`` attribute or ``tools()`` gives them."""
    if isinstance(value, (ToolSpec, BaseTool)):
        value = [value]
    elif not isinstance(value, Iterable) and hasattr(value, "tools"):
        value = value.tools() if callable(value.tools) else value.tools
    if not isinstance(value, Iterable) or isinstance(value, (str, bytes, dict)):
        raise TypeError(f"expected a ToolSpec, a tool, or a list of them; got {type(value).__name__}")
    specs = []
    for item in value:
        if isinstance(item, BaseTool):
            item = tool_spec(item)
        if not isinstance(item, ToolSpec):
            raise TypeError(f"expected ToolSpecs or tools, got a {type(item).__name__}")
        specs.append(item)
    return specs


def _import(reference: str, base: Path) -> Callable[..., Any]:
    """``package.module:attr`` or ``./file.py:attr`` (a trailing ``()`` is the caller's business)."""
    match = _IMPORT.fullmatch(reference)
    if not match:
        raise ValueError(f"{reference!r} is not `package.module:attribute`")
    module_ref = match["module"]
    module = _load_file(base / module_ref) if module_ref.endswith(".py") else import_module(module_ref)
    value: Any = module
    for part in match["attr"].split("."):
        if not hasattr(value, part):
            raise AttributeError(f"{module_ref} has no attribute {match['attr']!r}")
        value = getattr(value, part)
    if not callable(value) and match["call"]:
        raise TypeError(f"{match['attr']} is not callable")
    return value


def _load_file(path: Path) -> ModuleType:
    """Import a .py file by path, once per file (a stable module name derived from its path)."""
    path = path.resolve()
    name = f"taskwarden_user_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    if name in sys.modules:
        return sys.modules[name]
    if not path.is_file():
        raise FileNotFoundError(f"no such file {path}")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ModuleNotFoundError):
        return f"cannot import module {exc.name!r}"
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)


def _problem(error: Any) -> str:
    """One pydantic error as ``key.path: what is wrong``, in the file's own words."""
    loc = error["loc"]
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        return f"{key}: unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return f"{key}: missing required key"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` accepts (by alias), found by walking the schema's annotations."""
    model: Any = WorkflowSpec
    for part in loc:
        if isinstance(model, type) and issubclass(model, BaseModel) and isinstance(part, str):
            if part not in model.model_fields:
                return []
            model = model.model_fields[part].annotation
        elif get_origin(model) in (list, dict):
            model = get_args(model)[-1]
        else:
            return []
        while get_origin(model) in (Union, type(int | None)):
            candidates = [arg for arg in get_args(model) if arg is not type(None)]
            model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), candidates[0])
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [info.alias or name for name, info in model.model_fields.items()]
    return []


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
