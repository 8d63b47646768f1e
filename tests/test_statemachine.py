"""The shared state machine: named steps, illegal ones refused, incomplete machines refused."""

from __future__ import annotations

import enum
from types import SimpleNamespace

import pytest

from webapp.statemachine import IllegalTransition, StateMachine, Transition, status_note


class Light(enum.StrEnum):
    RED = "red"
    GREEN = "green"
    AMBER = "amber"
    BROKEN = "broken"


MACHINE = StateMachine(
    "light",
    Light,
    [
        Transition("go", frozenset({Light.RED}), Light.GREEN),
        Transition("slow", frozenset({Light.GREEN}), Light.AMBER),
        Transition("stop", frozenset({Light.AMBER}), Light.RED),
        Transition("break", frozenset({Light.RED, Light.GREEN, Light.AMBER}), Light.BROKEN),
    ],
)


def test_a_named_step_moves_the_record_and_returns_where_it_was():
    light = SimpleNamespace(status=Light.RED)
    assert MACHINE.fire(light, "go") is Light.RED
    assert light.status is Light.GREEN
    assert MACHINE.can(light, "slow") and not MACHINE.can(light, "stop")


def test_an_illegal_step_raises_and_changes_nothing():
    light = SimpleNamespace(status=Light.BROKEN)
    with pytest.raises(IllegalTransition, match="A light that is broken cannot go"):
        MACHINE.fire(light, "go")
    assert light.status is Light.BROKEN
    with pytest.raises(IllegalTransition, match="cannot become green"):
        MACHINE.check(Light.AMBER, Light.GREEN)


def test_targets_are_what_the_screens_offer():
    assert MACHINE.targets(Light.GREEN) == {Light.AMBER, Light.BROKEN}
    assert MACHINE.targets(Light.BROKEN) == frozenset()


def test_a_machine_that_forgets_a_status_is_refused_when_declared():
    with pytest.raises(ValueError, match="no step leads to or from broken"):
        StateMachine(
            "light",
            Light,
            [
                Transition("go", frozenset({Light.RED}), Light.GREEN),
                Transition("slow", frozenset({Light.GREEN}), Light.AMBER),
            ],
        )
    with pytest.raises(ValueError, match="declared twice"):
        StateMachine("light", Light, [Transition("go", frozenset({Light.RED}), Light.GREEN)] * 2)
    with pytest.raises(ValueError, match="has no row for amber"):
        StateMachine.from_targets(
            "light", Light, {Light.RED: {Light.GREEN}, Light.GREEN: (), Light.BROKEN: ()}
        )


def test_a_table_of_targets_becomes_steps_named_by_target():
    machine = StateMachine.from_targets(
        "light",
        Light,
        {
            Light.RED: {Light.GREEN},
            Light.GREEN: {Light.AMBER},
            Light.AMBER: {Light.RED},
            Light.BROKEN: (),
        },
    )
    light = SimpleNamespace(status=Light.RED)
    machine.fire(light, "to_green")
    assert light.status is Light.GREEN
    assert not machine.allows(Light.BROKEN, Light.RED)


class Refused(Exception):
    def __init__(self, record, wanted):
        super().__init__(f"{record.name} cannot become {wanted.value}")


def test_move_changes_to_a_chosen_target_or_raises_the_domains_error():
    machine = StateMachine(
        "light",
        Light,
        [
            Transition("go", frozenset({Light.RED}), Light.GREEN),
            Transition("break", frozenset({Light.RED, Light.GREEN, Light.AMBER}), Light.BROKEN),
            Transition("slow", frozenset({Light.GREEN}), Light.AMBER),
        ],
        error=Refused,
    )
    light = SimpleNamespace(name="North", status=Light.RED)
    assert machine.move(light, Light.GREEN) is Light.RED
    assert light.status is Light.GREEN
    with pytest.raises(Refused, match="North cannot become red"):
        machine.move(light, Light.RED)
    assert light.status is Light.GREEN
    assert machine.require(light, Light.AMBER) is Light.GREEN
    assert light.status is Light.GREEN  # require only checks


def test_move_without_a_domain_error_raises_illegal_transition_on_any_attribute():
    lamp = SimpleNamespace(lamp_status=Light.BROKEN)
    with pytest.raises(IllegalTransition, match="cannot become green"):
        MACHINE.move(lamp, Light.GREEN, "lamp_status")
    assert lamp.lamp_status is Light.BROKEN


def test_a_status_change_is_worded_once_for_every_timeline():
    assert status_note(Light.RED, Light.GREEN) == (
        "status.green",
        "red → green",
        {"previous": "red", "reason": ""},
    )
    assert status_note(Light.GREEN, Light.BROKEN, "hit by a truck")[1] == (
        "green → broken: hit by a truck"
    )
