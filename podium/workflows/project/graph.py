"""The task dependency graph: cycle detection and which tasks may start now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

DONE = "done"


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency cycle as ``[a, b, ..., a]``, or None when the graph is acyclic."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(deps, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for nxt in deps.get(node, ()):
            if colour.get(nxt, black) == grey:
                return stack[stack.index(nxt) :] + [nxt]
            if colour.get(nxt) == white and (found := visit(nxt)):
                return found
        stack.pop()
        colour[node] = black
        return None

    for node in deps:
        if colour[node] == white and (found := visit(node)):
            return found
    return None


def ready(deps: Mapping[str, Sequence[str]], statuses: Mapping[str, str], startable: Iterable[str]) -> list[str]:
    """Tasks in ``startable`` (in that order) whose dependencies are all done."""
    return [t for t in startable if all(statuses.get(d) == DONE for d in deps.get(t, ()))]


def blocked_by(deps: Mapping[str, Sequence[str]], failed: Iterable[str]) -> set[str]:
    """Every task that depends, directly or not, on one of ``failed``."""
    dependants: dict[str, list[str]] = {}
    for task, needs in deps.items():
        for d in needs:
            dependants.setdefault(d, []).append(task)
    out: set[str] = set()
    todo = list(failed)
    while todo:
        for child in dependants.get(todo.pop(), ()):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out
