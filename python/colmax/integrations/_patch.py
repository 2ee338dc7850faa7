"""Reversible replacement of a library's functions wherever the library binds them.

A function imported with `from .scores import colbert_scores` lives on as a global of the
importing module, and a function given as a default argument lives on in `__defaults__`; so
replacing the definition alone misses most call sites. `Patch.replace` finds every binding of
the original objects in the library's loaded modules and swaps it; `Patch.undo` restores each.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

DISABLE_ENV = "COLMAX_DISABLE_INTEGRATIONS"


def disabled_by_environment() -> bool:
    """COLMAX_DISABLE_INTEGRATIONS=1 (or true/yes/on) turns every integration off."""
    return os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


class Patch:
    def __init__(self, package: str):
        self.package = package
        self._undo: list = []  # (setter, owner, name, old value), in the order applied

    @property
    def active(self) -> bool:
        return bool(self._undo)

    def import_modules(self, names):
        """Import the named submodules (those missing in this version are skipped)."""
        found = []
        for name in names:
            try:
                found.append(importlib.import_module(name))
            except ImportError:
                pass
        return found

    def _modules(self):
        prefix = self.package + "."
        return [m for name, m in list(sys.modules.items())
                if m is not None and (name == self.package or name.startswith(prefix))]

    def _set(self, setter, owner, name, old, new):
        setter(owner, name, new)
        self._undo.append((setter, owner, name, old))

    def replace(self, replacements: dict) -> int:
        """Swap every module global, class attribute and default argument of the library that
        *is* one of the originals (identity, not name). Returns the number of bindings."""
        by_id = {id(old): new for old, new in replacements.items()}
        count = 0
        for module in self._modules():
            for name, value in list(vars(module).items()):
                if id(value) in by_id:
                    self._set(setattr, module, name, value, by_id[id(value)])
                    count += 1
                if isinstance(value, type) and value.__module__.startswith(self.package):
                    count += self._replace_in_class(value, by_id)
        return count

    def _replace_in_class(self, cls, by_id) -> int:
        count = 0
        for name, attr in list(vars(cls).items()):
            if isinstance(attr, staticmethod) and id(attr.__func__) in by_id:
                self._set(setattr, cls, name, attr, staticmethod(by_id[id(attr.__func__)]))
                count += 1
            function = getattr(attr, "__func__", attr)
            defaults = getattr(function, "__defaults__", None)
            if defaults and any(id(d) in by_id for d in defaults):
                new = tuple(by_id.get(id(d), d) for d in defaults)
                self._set(_set_defaults, function, "__defaults__", defaults, new)
                count += 1
        return count

    def set(self, owner, name: str, value):
        # The raw class attribute (a staticmethod stays a staticmethod when restored).
        old = vars(owner)[name] if isinstance(owner, type) else getattr(owner, name)
        self._set(setattr, owner, name, old, value)

    def undo(self):
        while self._undo:
            setter, owner, name, old = self._undo.pop()
            setter(owner, name, old)


def _set_defaults(function, _name, defaults):
    function.__defaults__ = defaults


def warn(message: str):
    warnings.warn(f"colmax: {message}", RuntimeWarning, stacklevel=3)
