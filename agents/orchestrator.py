"""The orchestrator agent: turns a request into a validated `Plan` of tasks for worker roles."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from taskwarden.agents.prompts import LESSONS_SECTION, ORCHESTRATOR_PROMPT, REQUIRED_TASK
from taskwarden.agents.structured import invoke_structured
from taskwarden.tools.registry import Role


class PlannedTask(BaseModel):
    """One unit of work for one worker role."""

    id: str = Field(description="Short unique id such as t1", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    description: str = Field(description="What the worker must do", min_length=3)
    role: str = Field(description="The worker role that does it")
    depends_on: list[str] = Field(default_factory=list, description="Ids of tasks whose results this task needs")
    acceptance_criteria: list[str] = Field(min_length=1, description="Checkable conditions the result must meet")


class Plan(BaseModel):
    """The orchestrator's output: tasks with dependencies."""

    tasks: list[PlannedTask] = Field(min_length=1, max_length=12)


def plan_problems(plan: Plan, role_names: list[str]) -> list[str]:
    """Semantic checks Pydantic cannot do: known roles, unique ids, known dependencies, no cycles."""
    problems: list[str] = []
    ids = [task.id for task in plan.tasks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"task ids must be unique, repeated: {duplicates}")
    for task in plan.tasks:
        if task.role not in role_names:
            problems.append(f"task {task.id} has unknown role {task.role!r}; roles: {role_names}")
        unknown = [dep for dep in task.depends_on if dep not in ids]
        if unknown:
            problems.append(f"task {task.id} depends on unknown tasks {unknown}")
        if task.id in task.depends_on:
            problems.append(f"task {task.id} depends on itself")
    if not problems and _has_cycle(plan):
        problems.append("task dependencies form a cycle")
    return problems


def _has_cycle(plan: Plan) -> bool:
    deps = {task.id: set(task.depends_on) for task in plan.tasks}
    done: set[str] = set()
    while deps:
        ready = [tid for tid, need in deps.items() if need <= done]
        if not ready:
            return True
        for tid in ready:
            done.add(tid)
            del deps[tid]
    return False


def normalize_plan(plan: Plan, roles: list[Role]) -> Plan:
    """Apply what the workflow declares about roles: required roles get a task, their criteria, and the
    roles they come after."""
    by_name = {role.name: role for role in roles}
    planned = [*plan.tasks, *required_tasks(plan, roles)]
    tasks = []
    for task in planned:
        role = by_name.get(task.role)
        if role is None:
            tasks.append(task)
            continue
        before = [t.id for t in planned if t.role in role.after and t.id != task.id]
        depends_on = [*task.depends_on, *(tid for tid in before if tid not in task.depends_on)]
        criteria = list(role.criteria) or task.acceptance_criteria
        tasks.append(task.model_copy(update={"depends_on": depends_on, "acceptance_criteria": criteria}))
    return Plan(tasks=tasks)


def required_tasks(plan: Plan, roles: list[Role]) -> list[PlannedTask]:
    """A task for each required role the plan lacks, in the workflow's role order, with fresh ids."""
    ids, planned = {task.id for task in plan.tasks}, {task.role for task in plan.tasks}
    added = []
    for role in roles:
        if not role.required or role.name in planned:
            continue
        number = len(ids) + 1
        while f"t{number}" in ids:
            number += 1
        task_id = f"t{number}"
        ids.add(task_id)
        description = role.description.strip()
        added.append(PlannedTask(id=task_id, role=role.name,
                                 description=REQUIRED_TASK.format(role=role.name, description=description),
                                 acceptance_criteria=list(role.criteria) or [description]))
    return added


def render_roles(roles: list[Role]) -> str:
    return "\n".join(f"- {role.name}: {role.description} (tools: {', '.join(role.tools) or 'none'})" for role in roles)


def make_plan(model: BaseChatModel, *, request: str, workflow: str, instructions: str, roles: list[Role],
              plan_hint: str = "", lessons: list[str] | None = None,
              max_repairs: int = 1) -> tuple[Plan, list[AIMessage]]:
    """Ask `model` for a plan; invalid output is shown its errors and repaired at most `max_repairs` times."""
    system = ORCHESTRATOR_PROMPT.format(
        workflow=workflow,
        instructions=instructions.strip(),
        roles=render_roles(roles),
        plan_hint=f"{plan_hint.strip()}\n" if plan_hint else "",
        lessons=LESSONS_SECTION.format(lessons="\n".join(f"- {item}" for item in lessons)) if lessons else "",
    )
    role_names = [role.name for role in roles]
    plan, raws = invoke_structured(
        model, Plan, [SystemMessage(content=system), HumanMessage(content=request)],
        max_repairs=max_repairs, check=lambda plan: plan_problems(normalize_plan(plan, roles), role_names),
    )
    return normalize_plan(plan, roles), raws
