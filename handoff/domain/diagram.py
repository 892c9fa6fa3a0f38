"""The README's state diagram, drawn by transitions' GraphMachine from the lifecycle table.

Run `python -m handoff.domain.diagram` to print it; a test keeps the README in step with the table.
"""

from typing import Any

from transitions.extensions.diagrams import GraphMachine

from handoff.domain import lifecycle


class _Drawn:
    """GraphMachine draws the graph of a model; this one exists only to be drawn."""


def mermaid() -> str:
    model: Any = _Drawn()
    GraphMachine(
        model=model,
        states=list(lifecycle.STATES),
        transitions=[
            {
                "trigger": row.trigger,
                "source": list(row.source),
                "dest": row.dest,
                "conditions": [lifecycle.named_condition(g) for g in row.guards],
            }
            for row in lifecycle.CASE_TABLE
            if row.dest is not None
        ],
        initial="unclaimed",
        auto_transitions=False,
        graph_engine="mermaid",
        show_conditions=True,
        title="Case lifecycle",
    )
    drawn: str = model.get_graph().draw(None)
    # Drop the styling that marks the model's current state: the diagram is of the table.
    lines = [
        line
        for line in drawn.splitlines()
        if not line.strip().startswith(("classDef", "Class ")) and line.strip()
    ]
    lines.append("  [*] --> active: create (by an agent, auto-claimed)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(mermaid(), end="")
