"""Generates docs/cli.md from the CLI itself, so the reference cannot drift
(``python -m traffick_triage.clidoc > docs/cli.md``; a test compares)."""

from __future__ import annotations

import typer

from .cli import app


def _walk(command, path: list[str]):
    yield path, command
    if hasattr(command, "commands"):   # a group (typer bundles its own click)
        for name in sorted(command.commands):
            yield from _walk(command.commands[name], path + [name])


def render() -> str:
    root = typer.main.get_command(app)
    lines = ["# Command reference", "",
             "Generated from the CLI by `python -m traffick_triage.clidoc`; a test keeps it in sync.", "",
             "Exit codes: 0 clean, 1 finished with warnings (or a verification mismatch), 2 usage or fatal error.",
             ""]
    for path, command in _walk(root, ["triage"]):
        lines += [f"## `{' '.join(path)}`", "", (command.help or "").strip(), ""]
        params = [p for p in command.params if p.name not in ("help",)]
        if not params:
            continue
        lines += ["| argument / option | help |", "|---|---|"]
        for param in params:
            if param.param_type_name == "argument":
                label = param.name.upper()
            else:
                label = ", ".join(param.opts + param.secondary_opts)
            help_text = (getattr(param, "help", None) or "").replace("|", "\\|")
            lines.append(f"| `{label}` | {help_text} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
