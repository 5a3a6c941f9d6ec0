"""CLI options derived from TrialConfig's fields, so a knob is declared once (DESIGN.md).

`@trial_options(exclude=...)` adds one `--field-name` option per TrialConfig field to a
typer command and hands the values the user gave to the command as `trial: dict`.
Options left out keep TrialConfig's defaults.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

import typer

from trainables.config import config_fields

_PYTHON_TYPES = {"float": float, "int": int, "str": str}


def option_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _parameters(exclude: tuple[str, ...]) -> list[inspect.Parameter]:
    parameters = []
    for f in config_fields():
        if f.name in exclude:
            continue
        annotation = _PYTHON_TYPES[str(f.type).replace(" | None", "")]
        default = f.metadata.get("default_text", "derived" if f.default is None else f.default)
        option = typer.Option(
            None,
            option_name(f.name),
            *f.metadata.get("aliases", ()),
            help=f"{f.metadata['help']} (default: {default})",
            show_default=False,
            rich_help_panel="Trial options",
        )
        parameters.append(
            inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation | None
            )
        )
    return parameters


def trial_options(exclude: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """Decorate a command taking `trial: dict` with one option per TrialConfig field."""

    def decorate(command: Callable) -> Callable:
        signature = inspect.signature(command)
        # Resolve the command's own annotations where they were written: under postponed
        # annotations they are strings that typer would otherwise look up in this module.
        hints = typing.get_type_hints(command)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in signature.parameters.values()
            if p.name != "trial"
        ]
        added = _parameters(exclude)
        names = [p.name for p in added]

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in names}
            trial = {name: value for name, value in given.items() if value is not None}
            return command(*args, trial=trial, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=own + added)
        wrapper.__annotations__ = {p.name: p.annotation for p in own + added}
        del wrapper.__wrapped__  # typer must see the new signature, not the original
        return wrapper

    return decorate
