"""Finding plugins: the built-ins shipped in ``traffick_triage.plugins``, any
``--plugin-dir DIR`` of one-file plugins, and installed packages that
register classes under the entry-point group ``traffick_triage.plugins``."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Mapping

from .plugin_api import Plugin, PluginOptionError, Selector, api_version_problem

ENTRY_POINT_GROUP = "traffick_triage.plugins"


class PluginLoadError(Exception):
    pass


@dataclass(frozen=True)
class LoadedPlugin:
    plugin: Plugin
    origin: str          # "builtin", "dir:PATH" or "entry-point:DIST"

    @property
    def name(self) -> str:
        return self.plugin.NAME

    @property
    def version(self) -> str:
        return self.plugin.VERSION


def _plugin_classes(module: ModuleType) -> list[type[Plugin]]:
    return [obj for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Plugin) and obj is not Plugin and not inspect.isabstract(obj)
            and obj.__module__ == module.__name__]


def check_plugin_class(cls: type[Plugin]) -> None:
    """Refuse a plugin whose declaration is incomplete (one clear message)."""
    for attribute, kind in (("NAME", str), ("VERSION", str), ("DESCRIPTION", str), ("SELECTOR", Selector)):
        value = getattr(cls, attribute, None)
        if not isinstance(value, kind) or (kind is str and not value.strip()):
            raise PluginLoadError(f"plugin class {cls.__module__}.{cls.__name__} must set {attribute} "
                                  f"({kind.__name__})")
    problem = api_version_problem(getattr(cls, "API_VERSION", None))
    if problem:
        raise PluginLoadError(f"plugin {cls.NAME} ({cls.__module__}.{cls.__name__}) refused: {problem}")


def builtin_plugins() -> list[LoadedPlugin]:
    from . import plugins as package

    loaded = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue      # shared helpers of the built-ins, not plugins
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for cls in _plugin_classes(module):
            check_plugin_class(cls)
            loaded.append(LoadedPlugin(cls(), "builtin"))
    return loaded


EXTERNAL_PACKAGE = "traffick_triage_external_plugins"


def _directory_package(directory: Path) -> str:
    """A package standing for one --plugin-dir, so a plugin there imports
    the helper modules beside it (files starting with "_") relatively:
    ``from ._shared import parse_thing``. Named by a hash of the folder's
    path: two folders never share helpers by accident."""
    if EXTERNAL_PACKAGE not in sys.modules:
        root = ModuleType(EXTERNAL_PACKAGE)
        root.__path__ = []
        sys.modules[EXTERNAL_PACKAGE] = root
    name = f"{EXTERNAL_PACKAGE}.d{hashlib.sha256(str(directory).encode()).hexdigest()[:16]}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_loader(name, loader=None, is_package=True)
        package = importlib.util.module_from_spec(spec)
        package.__path__ = [str(directory)]
        sys.modules[name] = package
    return name


def directory_plugins(directory: str | Path) -> list[LoadedPlugin]:
    """Every plugin class in the ``*.py`` files of ``directory``; files
    starting with "_" are helpers the plugins there may import, not plugins."""
    loaded = []
    package = _directory_package(Path(directory).resolve())
    for path in sorted(Path(directory).glob("*.py")):
        if path.name.startswith("_"):
            continue
        module_name = f"{package}.{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise PluginLoadError(f"cannot load plugin file {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:  # noqa: BLE001 - a broken plugin file is the user's to fix
            raise PluginLoadError(f"plugin file {path} failed to load: {type(error).__name__}: {error}") from error
        for cls in _plugin_classes(module):
            check_plugin_class(cls)
            loaded.append(LoadedPlugin(cls(), f"dir:{path}"))
    return loaded


def entry_point_plugins() -> list[LoadedPlugin]:
    loaded = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        try:
            obj = point.load()
        except Exception as error:  # noqa: BLE001
            raise PluginLoadError(f"entry point {point.name} ({point.value}) failed to load: {error}") from error
        classes = [obj] if inspect.isclass(obj) else _plugin_classes(obj)
        for cls in classes:
            if not (inspect.isclass(cls) and issubclass(cls, Plugin)):
                raise PluginLoadError(f"entry point {point.name} is not a Plugin class or module")
            check_plugin_class(cls)
            dist = getattr(point, "dist", None)
            loaded.append(LoadedPlugin(cls(), f"entry-point:{dist.name if dist else point.value}"))
    return loaded


def load_plugins(plugin_dirs: list[str] | None = None, only: list[str] | None = None,
                 skip: list[str] | None = None) -> list[LoadedPlugin]:
    """All plugins, sorted by name; names must be unique. ``only``/``skip``
    name plugins; an unknown name is an error, not silently ignored."""
    loaded = builtin_plugins() + entry_point_plugins()
    for directory in plugin_dirs or []:
        loaded += directory_plugins(directory)
    names: dict[str, LoadedPlugin] = {}
    for item in loaded:
        if item.name in names:
            raise PluginLoadError(f"two plugins are named {item.name!r}: {names[item.name].origin} "
                                  f"and {item.origin}")
        names[item.name] = item
    for wanted in (only or []) + (skip or []):
        if wanted not in names:
            raise PluginLoadError(f"no plugin named {wanted!r}; known: {', '.join(sorted(names))}")
    chosen = [p for p in names.values()
              if (not only or p.name in only) and (not skip or p.name not in skip)]
    return sorted(chosen, key=lambda p: p.name)


def check_plugin_options(plugins: Iterable[LoadedPlugin], option_sets: Iterable[Mapping[str, Any]]) -> None:
    """Ask every plugin whether it can work with each set of options (its
    ``check_options``); the first refusal is raised as a
    ``PluginOptionError`` naming the plugin. A plugin whose check itself
    fails is refused the same way: the scan must not start with a plugin
    that may be switched off for every file."""
    distinct: list[Mapping[str, Any]] = []
    for options in option_sets:
        if options not in distinct:
            distinct.append(options)
    for item in plugins:
        check = getattr(item.plugin, "check_options", None)
        if check is None:
            continue
        for options in distinct:
            try:
                check(options)
            except PluginOptionError as error:
                raise PluginOptionError(f"plugin {item.name}: {error}") from error
            except Exception as error:  # noqa: BLE001 - a third-party check's bug is still a refusal
                raise PluginOptionError(f"plugin {item.name}: cannot check its options: "
                                        f"{type(error).__name__}: {error}") from error
