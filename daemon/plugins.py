"""Plugin manager factory and safe, one-by-one loading of plugins and strategies.

Why not ``pm.load_setuptools_entrypoints``: it loads a whole group and aborts
on the first broken plugin, leaving the others half-registered and the error
hard to attribute.  Here every plugin and strategy is resolved, imported,
validated and registered on its own, and any failure raises ``PluginError``
(or ``ConfigError`` for a plain typo in the config) naming exactly which one.

Two failure classes are kept apart on purpose:

* ``ConfigError(path="strategies.<name>...")``: the config is wrong (unknown
  kind, a parameter the strategy's ``Params`` refuses);
* ``PluginError``: the code is broken (import fails, constructor raises, a
  hook implementation does not match its spec).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import re
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import msgspec
import pluggy

from daemon import hookspecs
from daemon.errors import ConfigError, PluginError

log = logging.getLogger(__name__)

#: Entry-point group of strategy classes (``kind = "grid"``).
STRATEGY_GROUP = "tradingd.strategies"
#: Entry-point group of extra plugins listed in ``daemon.plugins``.
PLUGIN_GROUP = "tradingd"

_IMPL_ATTR = f"{hookspecs.PROJECT_NAME}_impl"


def make_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager that knows every tradingd hookspec and nothing else yet."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def strategy_plugin_name(name: str) -> str:
    """The name a strategy is registered under; the dispatcher routes by it."""
    return f"strategy:{name}"


# ----------------------------------------------------------------------- plugins


def load_plugins(pm: pluggy.PluginManager, names: Iterable[str]) -> list[str]:
    """Register extra plugins, one by one, by entry-point name or module path.

    A name is looked up first in entry-point group ``tradingd``, then imported
    as a module (``pkg.mod``) or as an object (``pkg.mod:attr``).  Returns the
    registered plugin names in order.
    """
    registered: list[str] = []
    for name in names:
        candidates = _entry_points(PLUGIN_GROUP, name)
        if len(candidates) > 1:
            raise PluginError(f"plugin {name}: several entry points claim this name: "
                              f"{', '.join(ep.value for ep in candidates)}")
        try:
            plugin = candidates[0].load() if candidates else _import_object(name)
        except Exception as exc:
            raise PluginError(f"plugin {name}: cannot load: {type(exc).__name__}: {exc}") from exc
        _register(pm, plugin, name, what=f"plugin {name}")
        registered.append(name)
        log.info("plugins.loaded plugin=%s", name)
    return registered


# -------------------------------------------------------------------- strategies


def load_strategies(pm: pluggy.PluginManager, config: Any) -> dict[str, object]:
    """Build and register one instance per enabled ``[strategies.<name>]`` table.

    Each table's ``kind`` resolves to a class; its raw parameters are checked
    against the class's ``Params`` Struct; the instance ``Cls(name, params)``
    is registered as plugin ``strategy:<name>``.  If any strategy fails, the
    ones this call already registered are unregistered again, so a failed
    start leaves the plugin manager as it was.
    """
    loaded: dict[str, object] = {}
    try:
        for name, section in config.strategies.items():
            if not section.enabled:
                log.info("strategy.disabled strategy=%s", name)
                continue
            cls = resolve_strategy_class(name, section.kind)
            params = validate_params(name, cls, section.params)
            try:
                instance = cls(name, params)
            except Exception as exc:
                raise PluginError(f"strategy {name} ({section.kind}): constructor failed: "
                                  f"{type(exc).__name__}: {exc}") from exc
            _register(pm, instance, strategy_plugin_name(name), what=f"strategy {name}")
            loaded[name] = instance
            log.info("strategy.loaded strategy=%s kind=%s", name, section.kind)
    except BaseException:
        for name in loaded:
            pm.unregister(name=strategy_plugin_name(name))
        raise
    return loaded


def resolve_strategy_class(name: str, kind: str) -> type:
    """``kind`` as an entry point of group ``tradingd.strategies`` or a ``module:Class`` path."""
    kind_path = f"strategies.{name}.kind"
    if ":" in kind:
        try:
            obj = _import_object(kind)
        except ModuleNotFoundError as exc:
            module_name = kind.split(":", 1)[0]
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                raise ConfigError(f"no module {exc.name!r} for strategy kind {kind!r}",
                                  path=kind_path) from exc
            raise PluginError(f"strategy {name} ({kind}): cannot import: {exc}") from exc
        except AttributeError as exc:
            raise ConfigError(f"strategy kind {kind!r}: {exc}", path=kind_path) from exc
        except Exception as exc:
            raise PluginError(f"strategy {name} ({kind}): cannot import: "
                              f"{type(exc).__name__}: {exc}") from exc
    else:
        candidates = _entry_points(STRATEGY_GROUP, kind)
        if not candidates:
            known = sorted({ep.name for ep in importlib.metadata.entry_points(group=STRATEGY_GROUP)})
            raise ConfigError(f"unknown strategy kind {kind!r}; installed kinds: "
                              f"{', '.join(known) or 'none'}; or give a 'package.module:Class' path",
                              path=kind_path)
        if len(candidates) > 1:
            raise PluginError(f"strategy {name}: several entry points claim kind {kind!r}: "
                              f"{', '.join(ep.value for ep in candidates)}")
        try:
            obj = candidates[0].load()
        except Exception as exc:
            raise PluginError(f"strategy {name}: entry point {kind} = {candidates[0].value} "
                              f"failed to load: {type(exc).__name__}: {exc}") from exc
    if not inspect.isclass(obj):
        raise PluginError(f"strategy {name}: {kind} is not a class")
    params_type = getattr(obj, "Params", None)
    if not (inspect.isclass(params_type) and issubclass(params_type, msgspec.Struct)):
        raise PluginError(f"strategy {name}: {kind} has no Params msgspec Struct")
    return obj


def validate_params(name: str, cls: type, raw: Any) -> Any:
    """Raw TOML values -> ``cls.Params``; every problem is a ConfigError at its key path.

    ``strict=False`` lets TOML strings become ``Decimal`` (and ``"2"`` an int).
    Unknown keys are checked here as well, so a ``Params`` that forgot
    ``forbid_unknown_fields=True`` still cannot ignore a misspelt key.
    """
    base = f"strategies.{name}"
    params_type = cls.Params
    known = {field.encode_name for field in msgspec.structs.fields(params_type)}
    for key in raw:
        if key not in known:
            raise ConfigError("unknown key", path=f"{base}.{key}")
    try:
        return msgspec.convert(dict(raw), params_type, strict=False)
    except msgspec.ValidationError as exc:
        message, path = _split_validation_error(str(exc), base)
        raise ConfigError(message, path=path) from exc


_AT_PATH = re.compile(r"^(?P<message>.*) - at `\$(?P<path>[^`]*)`$")
_FIELD = re.compile(r"(?:missing required field|unknown field) `(?P<field>[^`]+)`")


def _split_validation_error(text: str, base: str) -> tuple[str, str]:
    """msgspec says ``Expected `int`, got `str` - at `$.levels```; we say ``strategies.g.levels``."""
    match = _AT_PATH.match(text)
    if match:
        return match["message"], base + match["path"]
    field = _FIELD.search(text)
    if field:
        message = "required key is missing" if "missing" in text else "unknown key"
        return message, f"{base}.{field['field']}"
    return text, base  # e.g. a __post_init__ check spanning several keys


# ---------------------------------------------------------------------- helpers


def _entry_points(group: str, name: str) -> list[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points(group=group, name=name))


def _import_object(spec: str) -> Any:
    """``pkg.mod`` -> the module; ``pkg.mod:attr.sub`` -> that attribute."""
    module_name, _, attr_path = spec.partition(":")
    obj: Any = importlib.import_module(module_name)
    for attr in filter(None, attr_path.split(".")):
        obj = getattr(obj, attr)
    return obj


def _register(pm: pluggy.PluginManager, plugin: object, name: str, *, what: str) -> None:
    """Register and verify: every implementation must name a known hook."""
    _refuse_unmarked_event_methods(plugin, what)
    try:
        pm.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(f"{what}: {exc}") from exc
    unknown = [caller.name for caller in pm.get_hookcallers(plugin) or ()
               if caller.spec is None]
    if unknown:
        pm.unregister(plugin)
        raise PluginError(f"{what}: implements unknown hook(s) {', '.join(sorted(unknown))}; "
                          f"known event hooks: {', '.join(hookspecs.EVENT_HOOKS)}")


def _refuse_unmarked_event_methods(plugin: object, what: str) -> None:
    """An ``on_trade`` without ``@hookimpl`` would silently never be called; say so now."""
    for hook in hookspecs.EVENT_HOOKS:
        member = getattr(plugin, hook, None)
        if member is None or not callable(member):
            continue
        if isinstance(plugin, ModuleType) and getattr(member, "__module__", None) != plugin.__name__:
            continue  # imported into the module from elsewhere, not defined by it
        if getattr(member, _IMPL_ATTR, None) is None:
            raise PluginError(f"{what}: {hook} looks like an event hook but is not marked "
                              f"@hookimpl, so it would never be called")
