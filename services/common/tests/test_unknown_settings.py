"""An AISTRALE_* variable nothing in the process reads is refused, naming the closest name."""

from __future__ import annotations

import pytest
from pydantic import AliasChoices, Field

from aistrale_common.settings import (
    TOOLING_VARIABLES,
    ServiceSettings,
    UnknownVariableError,
    refuse_unknown_variables,
    tooling_variable,
    variable_names,
)
from aistrale_testkit.processes import own_environment


class Alpha(ServiceSettings):
    alpha_timeout_s: float = 1.0
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AISTRALE_ALPHA_DATABASE_URL", "database_url")
    )


class Beta(ServiceSettings):
    beta_queue: str = "q"


def test_names_are_prefixed_fields_or_their_aliases() -> None:
    names = variable_names(Alpha)
    assert {
        "AISTRALE_ALPHA_TIMEOUT_S",
        "AISTRALE_ALPHA_DATABASE_URL",
        "AISTRALE_REDIS_URL",
    } <= names
    assert "AISTRALE_DATABASE_URL" not in names  # the alias replaces the prefixed name


def test_a_misspelled_variable_is_refused_with_the_closest_name() -> None:
    env = {"AISTRALE_ALPHA_TIMEOUT": "2", "AISTRALE_REDIS_URL": "redis://x", "HOME": "/"}
    with pytest.raises(UnknownVariableError) as caught:
        refuse_unknown_variables(env, [Alpha])
    message = str(caught.value)
    assert "AISTRALE_ALPHA_TIMEOUT (did you mean AISTRALE_ALPHA_TIMEOUT_S?)" in message
    assert "REDIS_URL" not in message and "HOME" not in message


def test_every_unknown_name_is_listed_and_a_far_one_gets_no_guess() -> None:
    with pytest.raises(UnknownVariableError) as caught:
        refuse_unknown_variables({"AISTRALE_ZZZ": "1", "AISTRALE_BETA_QUEUE": "q"}, [Alpha])
    message = str(caught.value)
    assert "AISTRALE_ZZZ" in message and "AISTRALE_ZZZ (did you mean" not in message
    assert "AISTRALE_BETA_QUEUE" in message


def test_a_process_of_several_services_knows_the_union() -> None:
    env = {"AISTRALE_ALPHA_TIMEOUT_S": "2", "AISTRALE_BETA_QUEUE": "q"}
    refuse_unknown_variables(env, [Alpha, Beta])
    with pytest.raises(UnknownVariableError):
        refuse_unknown_variables(env, [Beta])


def test_tooling_and_referenced_names_are_known() -> None:
    env = dict.fromkeys(TOOLING_VARIABLES, "1") | {"AISTRALE_MY_OPENAI_KEY": "sk"}
    refuse_unknown_variables(env, [Alpha], referenced=["AISTRALE_MY_OPENAI_KEY"])
    with pytest.raises(UnknownVariableError):
        refuse_unknown_variables(env, [Alpha])


def test_own_environment_drops_only_the_other_services_settings() -> None:
    shared = {
        "AISTRALE_ALPHA_TIMEOUT_S": "2",
        "AISTRALE_BETA_QUEUE": "q",
        "AISTRALE_REDIS_URL": "redis://x",  # both read it
        "AISTRALE_TYPO": "1",  # nobody's: kept, so that the service refuses it
    }
    assert own_environment(shared, Alpha, [Beta]) == {
        "AISTRALE_ALPHA_TIMEOUT_S": "2",
        "AISTRALE_REDIS_URL": "redis://x",
        "AISTRALE_TYPO": "1",
    }


def test_tooling_reads_only_declared_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISTRALE_SOAK_S", "600")
    assert tooling_variable("AISTRALE_SOAK_S", "60") == "600"
    with pytest.raises(KeyError, match="AISTRALE_SOAK_SECONDS is not declared"):
        tooling_variable("AISTRALE_SOAK_SECONDS", "60")
