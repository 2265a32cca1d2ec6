"""Finds the expanders: every concrete Expander subclass defined in a module
of ``expansion.readers``. The walk asks each whether it claims a file; no part
of the core names a format."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import lru_cache

from . import readers
from .api import Expander


@lru_cache(maxsize=1)
def builtin_expanders() -> tuple[Expander, ...]:
    """One instance of each built-in expander, ordered by NAME (stable claims order)."""
    found: dict[str, Expander] = {}
    for module_info in sorted(pkgutil.iter_modules(readers.__path__), key=lambda info: info.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{readers.__name__}.{module_info.name}")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if (issubclass(value, Expander) and not inspect.isabstract(value)
                    and value.__module__ == module.__name__):
                if value.NAME in found:
                    raise RuntimeError(f"two expanders named {value.NAME!r}")
                found[value.NAME] = value()
    return tuple(found[name] for name in sorted(found))


def expander_named(name: str) -> Expander | None:
    """The expander an address names (to open a member again)."""
    return next((e for e in builtin_expanders() if e.NAME == name), None)


def describe_expanders() -> list[dict[str, str]]:
    """What the report records of each expander: name, version, route, what it reads and with what."""
    return [{"name": e.NAME, "version": e.VERSION, "route": e.ROUTE, "description": e.DESCRIPTION,
             "library": e.library()} for e in builtin_expanders()]
