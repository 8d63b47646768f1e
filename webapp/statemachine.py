"""One way to declare a status machine: named transitions from source statuses to a target.

Each domain declares its machine next to its operations and changes a status only through
``fire`` (a named step: "confirm", "cancel") or ``move`` (a target chosen by the caller, as
the staff screens do). An illegal step raises (the domain's own error when it gives one); a
machine that forgets a status of its enum, or names one twice, fails when it is declared, not
when a user first meets it. ``status_note`` is the one wording of a change on a timeline.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

S = TypeVar("S", bound=enum.Enum)


class IllegalTransition(Exception):
    """A status change the machine does not allow."""

    def __init__(self, what: str, current: enum.Enum, step: str) -> None:
        label = getattr(current, "label", current.value)
        super().__init__(f"A {what} that is {str(label).lower()} cannot {step}.")
        self.current = current
        self.step = step


@dataclass(frozen=True)
class Transition(Generic[S]):
    name: str
    sources: frozenset[S]
    target: S


def status_note(previous: enum.Enum, target: enum.Enum, reason: str = "") -> tuple[str, str, dict]:
    """Return the timeline event of a status change: its type, its message and its data."""
    before = getattr(previous, "label", previous.value)
    after = getattr(target, "label", target.value)
    message = f"{before} → {after}" + (f": {reason}" if reason else "")
    return f"status.{target.value}", message, {"previous": previous.value, "reason": reason}


# What a domain raises for an illegal move: called with the record and the wanted status.
ErrorFactory = Callable[[Any, Any], Exception]


class StateMachine(Generic[S]):
    """The allowed steps between the members of ``states`` (``what`` names the record).

    ``error(record, target)`` builds the exception ``move`` raises (a domain's own, with its
    HTTP status); without it ``IllegalTransition`` is raised. ``initial`` is the status of a
    record not flushed yet (its column default, still None on the object).
    """

    def __init__(
        self,
        what: str,
        states: type[S],
        transitions: Iterable[Transition[S]],
        *,
        error: ErrorFactory | None = None,
        initial: S | None = None,
    ) -> None:
        self.what = what
        self.states = states
        self.error = error
        self.initial = initial
        self.transitions: dict[str, Transition[S]] = {}
        reached: set[S] = set()
        for transition in transitions:
            if transition.name in self.transitions:
                raise ValueError(f"{what}: the step {transition.name!r} is declared twice.")
            for state in (*transition.sources, transition.target):
                if not isinstance(state, states):
                    raise ValueError(f"{what}: {state!r} is not a {states.__name__}.")
            self.transitions[transition.name] = transition
            reached |= {*transition.sources, transition.target}
        missing = set(states) - reached
        if missing:
            names = ", ".join(sorted(s.value for s in missing))
            raise ValueError(f"{what}: no step leads to or from {names}.")

    @classmethod
    def from_targets(
        cls,
        what: str,
        states: type[S],
        table: Mapping[S, Iterable[S]],
        *,
        error: ErrorFactory | None = None,
    ) -> StateMachine[S]:
        """Declare a machine whose steps are named by their target ("to_<target>")."""
        missing = set(states) - set(table)
        if missing:
            names = ", ".join(sorted(s.value for s in missing))
            raise ValueError(f"{what}: the table has no row for {names}.")
        sources: dict[S, set[S]] = {}
        for source, targets in table.items():
            for target in targets:
                sources.setdefault(target, set()).add(source)
        steps = [Transition(f"to_{t.value}", frozenset(s), t) for t, s in sources.items()]
        # Terminal states with no way in are still states of the machine.
        for state in states:
            if state not in sources and not table[state]:
                steps.append(Transition(f"to_{state.value}", frozenset(), state))
        return cls(what, states, steps, error=error)

    def targets(self, current: S) -> frozenset[S]:
        """Every status ``current`` may change to."""
        return frozenset(t.target for t in self.transitions.values() if current in t.sources)

    def allows(self, current: S, target: S) -> bool:
        return target in self.targets(current)

    def check(self, current: S, target: S) -> None:
        """Raise IllegalTransition unless ``current`` may change to ``target``."""
        if not self.allows(current, target):
            label = getattr(target, "label", target.value)
            raise IllegalTransition(self.what, current, f"become {str(label).lower()}")

    def status_of(self, record: Any, attribute: str = "status") -> S:
        current = getattr(record, attribute)
        return self.initial if current is None and self.initial is not None else current

    def require(self, record: Any, target: S, attribute: str = "status") -> S:
        """Raise (the domain's error) unless ``record`` may change to ``target``; return its
        status (for a caller that writes the change itself, e.g. as a compare-and-swap)."""
        current = self.status_of(record, attribute)
        if not self.allows(current, target):
            if self.error is not None:
                raise self.error(record, target)
            self.check(current, target)
        return current

    def move(self, record: Any, target: S, attribute: str = "status") -> S:
        """Change ``record`` to ``target`` if the machine allows it; return its status before."""
        current = self.require(record, target, attribute)
        setattr(record, attribute, target)
        return current

    def can(self, record: Any, step: str, attribute: str = "status") -> bool:
        return self.status_of(record, attribute) in self.transitions[step].sources

    def fire(self, record: Any, step: str, attribute: str = "status") -> S:
        """Apply the named step to ``record``; return the status it had before."""
        transition = self.transitions[step]
        current = self.status_of(record, attribute)
        if current not in transition.sources:
            raise IllegalTransition(self.what, current, step.replace("_", " "))
        setattr(record, attribute, transition.target)
        return current
