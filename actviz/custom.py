"""Activations of your own: ``module:callable`` wherever a registry name is accepted.

The callable is imported, never evaluated from a string. It may be a function
of one tensor (``def my_fn(x): return x * torch.sigmoid(x)``) or an
``nn.Module`` subclass. A class's constructor arguments are its parameters,
read from its signature: ``--param alpha=0.5`` (a number if it reads as one,
else text; True/False for a bool) is passed as ``MyAct(alpha=0.5)``, so it can
be swept and exported like a built-in's. The probe checks that it behaves like
an activation (see :func:`checked_output`).

The module is imported from ``sys.path`` as it stands, which this library never
changes (a notebook's or script's own folder is already there), and, once
:func:`set_module_folder` names a folder (the ``actviz`` command names the
working folder, ``cli.main``), from that folder too, searched last: the folder
is on ``sys.path``, at its end, only while the module named is imported, so
that a file there (``numpy.py``) never shadows an installed package or the
standard library. A module of the folder whose name is taken by one of those
is refused, never imported.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actviz.activation import Activation, Param, Params
from actviz.errors import CustomActivationError, UnknownActivationError

if TYPE_CHECKING:
    import torch
    from torch import nn


_FOLDER: list[str] = []  # the folder set_module_folder named, if any


def set_module_folder(folder: str | os.PathLike[str] | None) -> None:
    """Search ``folder`` too (after ``sys.path``) for ``module:callable``'s module; None: stop.

    The folder goes at the end of ``sys.path`` only while such a module is
    imported, and a module there is refused if the name is already that of a
    module found elsewhere (``numpy.py``): installed packages and the standard
    library are never shadowed, and nothing else is ever imported from it.
    """
    _FOLDER[:] = [] if folder is None else [os.path.abspath(os.fspath(folder))]
    load.cache_clear()


def module_folder() -> str | None:
    """The folder :func:`set_module_folder` named, or None."""
    return _FOLDER[0] if _FOLDER else None


def _import(module_name: str, path: str) -> Any:
    """``importlib.import_module(module_name)``, looking in :func:`module_folder` last."""
    folder = module_folder()
    top = module_name.partition(".")[0]
    here = importlib.machinery.PathFinder.find_spec(top, [folder]) if folder else None
    if folder is None or here is None or here.origin is None:  # none there (or a bare folder)
        return importlib.import_module(module_name)
    elsewhere = _found_elsewhere(top)
    if elsewhere is None:
        import torch  # noqa: F401  # first: its own imports must not look in the folder

        sys.path.append(folder)
        try:
            return importlib.import_module(module_name)
        finally:
            if sys.path and sys.path[-1] == folder:
                del sys.path[-1]
            elif folder in sys.path:
                sys.path.remove(folder)
    if _same_file(elsewhere, here.origin):  # imported from there already, or on sys.path
        return importlib.import_module(module_name)
    kind = "a standard-library module" if top in sys.stdlib_module_names else "an installed module"
    shown = os.path.relpath(here.origin, folder)
    raise UnknownActivationError(
        f"{shown} in the working folder is not imported for {path}: {top!r} is {kind} "
        f"({elsewhere}), which the working folder never shadows; rename {shown}"
    )


def _found_elsewhere(top: str) -> str | None:
    """Where the module ``top`` comes from without the folder: its file, "built into
    Python", "frozen into Python" or "a namespace package"; None if it is not found."""
    module = sys.modules.get(top)
    spec = getattr(module, "__spec__", None) if module is not None else None
    if module is not None and spec is None:
        return getattr(module, "__file__", None) or "built into Python"
    if spec is None:
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            return None
    if spec is None:
        return None
    built = {"built-in": "built into Python", "frozen": "frozen into Python"}
    return built.get(spec.origin or "", spec.origin or "a namespace package")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@lru_cache(maxsize=64)
def load(path: str) -> Activation:
    """Import ``module:callable`` and describe it as an :class:`Activation`."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise UnknownActivationError(
            f"{path!r} is not an import path; write module:callable, e.g. mypkg.acts:my_fn"
        )
    if module_name.startswith("."):
        raise UnknownActivationError(
            f"{path!r} is a relative import path; write the absolute one, e.g. mypkg.acts:my_fn"
        )
    try:
        target: Any = _import(module_name, path)
    except UnknownActivationError:  # the folder's module is refused
        raise
    except ImportError as error:
        raise UnknownActivationError(f"cannot import {module_name!r} for {path}: {error}") from None
    except SyntaxError as error:
        where = f"{error.filename}, line {error.lineno}" if error.filename else module_name
        raise CustomActivationError(
            f"cannot import {module_name!r} for {path}: syntax error in {where}: {error.msg}"
        ) from None
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # the module's own code failed (or exited) at import time
        raise CustomActivationError(
            f"cannot import {module_name!r} for {path}: importing it raised "
            f"{type(error).__name__}: {error}"
        ) from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise UnknownActivationError(
                f"{module_name} has no attribute {attribute!r} (for {path})"
            ) from None
    factory = _factory(path, target)  # refuses what is neither a function nor a module class
    return Activation(
        name=path,
        module=getattr(target, "__qualname__", attribute),
        formula=f"{path}(x)",
        derivative_formula="autograd only (no closed form)",
        derivative=None,
        params=_constructor_params(target) if isinstance(target, type) else (),
        factory=factory,
        notes="imported from an import path",
    )


def code_hash(path: str) -> str | None:
    """sha256 (16 hex digits) of your code that ``module:callable`` runs: its module's
    source and that of every module of yours it reaches (``import helper``, ``from
    impl import act``: followed through module globals, outside Python's installation
    and site-packages), line endings normalised. An export records it, so that
    editing any of it makes the images stale. None when one of those modules has no
    readable source (a zip, a compiled module): then no difference can be put down
    to the kernel route."""
    import hashlib
    import sys

    load(path)  # imports the module, with load's errors
    todo, seen = [path.partition(":")[0]], set()
    digest = hashlib.sha256()
    while todo:
        name = todo.pop()
        module = sys.modules.get(name)
        if name in seen or module is None or not _yours(module):
            continue
        seen.add(name)
        try:
            source = inspect.getsourcefile(module)
            data = Path(source).read_bytes() if source else None
        except (OSError, TypeError):
            data = None
        if data is None:
            return None
        digest.update(name.encode() + b"\0" + data.replace(b"\r\n", b"\n") + b"\0")
        for value in vars(module).values():
            found = (
                value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
            )
            if isinstance(found, str) and found not in seen:
                todo.append(found)
    return digest.hexdigest()[:16]


def _yours(module: Any) -> bool:
    """A module loaded from a file outside Python's installation, site-packages and
    actviz (torch.ops' stand-in file names are not files)."""
    import sysconfig

    where = getattr(module, "__file__", None)
    if not where or not Path(where).is_absolute():
        return False
    paths = sysconfig.get_paths()
    installed = [paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    roots = [Path(p).resolve() for p in installed if p] + [Path(__file__).resolve().parent]
    file = Path(where).resolve()
    return not any(file.is_relative_to(root) for root in roots)


def constructor_arguments(path: str, params: Params) -> dict[str, Any] | None:
    """The keyword arguments that ``module:callable``'s class is built with for
    ``params`` (only those that differ from its constructor's defaults, each as the
    default's type); None when the callable is a function, which takes none."""
    load(path)  # imports the module, with load's errors
    module_name, _, attribute = path.partition(":")
    target: Any = sys.modules[module_name]
    for part in attribute.split("."):
        target = getattr(target, part)
    return _arguments(target, params) if isinstance(target, type) else None


def _constructor_params(cls: type) -> tuple[Param, ...]:
    """The keyword arguments of ``cls``'s constructor, as parameters.

    A bool default becomes a True | False choice; an int default (or an ``int``
    annotation) a whole number, passed as an int; a float, text or None default a
    free value (number or text); no default: required. ``*args``,
    ``**kwargs`` and positional-only arguments cannot be given by name: left out.
    """
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # a C extension type may have none
        return ()
    params = []
    for arg in signature.parameters.values():
        if arg.kind not in (arg.POSITIONAL_OR_KEYWORD, arg.KEYWORD_ONLY):
            continue
        doc = f"argument of {cls.__qualname__}"
        whole = _is_int(arg.default) or (
            arg.annotation in (int, "int") and arg.default in (arg.empty, None)
        )
        if arg.default is arg.empty:
            params.append(Param(arg.name, "", doc, free=True, required=True, whole=whole))
        elif isinstance(arg.default, bool):
            params.append(Param(arg.name, str(arg.default), doc, choices=("False", "True")))
        elif isinstance(arg.default, int | float):
            params.append(Param(arg.name, float(arg.default), doc, free=True, whole=whole))
        else:
            params.append(Param(arg.name, str(arg.default), doc, free=True))
    return tuple(params)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _arguments(cls: type, params: Params) -> dict[str, Any]:
    """The keyword arguments to build ``cls`` with: only the values that differ from the
    constructor's defaults (which then apply as written), each as the default's type."""
    signature = inspect.signature(cls)
    arguments: dict[str, Any] = {}
    for key, value in params.items():
        arg = signature.parameters[key]
        default = arg.default
        if arg.default is not arg.empty and value == _shown(default):
            continue
        if isinstance(default, bool):
            arguments[key] = value == "True"
        elif (isinstance(default, int) or arg.annotation in (int, "int")) and (
            isinstance(value, float) and value.is_integer()
        ):
            arguments[key] = int(value)
        else:
            arguments[key] = value
    return arguments


def _shown(default: object) -> object:
    """A constructor default the way :func:`_constructor_params` records it."""
    if isinstance(default, bool) or not isinstance(default, int | float):
        return str(default)
    return float(default)


def _factory(path: str, target: Any) -> Any:
    from torch import nn

    if isinstance(target, type) and issubclass(target, nn.Module):

        def build_module(params: Params) -> nn.Module:
            arguments = _arguments(target, params)
            try:
                module: nn.Module = target(**arguments)
            except KeyboardInterrupt:
                raise
            except BaseException as error:  # sys.exit(7) in __init__ too: one line, exit 1
                given = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
                raise CustomActivationError(
                    f"{path}: could not build the module with ({given}): "
                    f"{type(error).__name__}: {error}"
                    if given
                    else f"{path}: could not build the module without arguments: "
                    f"{type(error).__name__}: {error}"
                ) from None
            return module

        return build_module
    if callable(target):
        return lambda params: _function_module()(target)
    raise UnknownActivationError(
        f"{path} is not a function or an nn.Module class (it is {type(target).__name__} {target!r})"
    )


@lru_cache(maxsize=1)
def _function_module() -> type[nn.Module]:
    """An nn.Module around a plain function (defined on first use: torch is heavy)."""
    from torch import nn

    class FunctionActivation(nn.Module):
        def __init__(self, fn: Any) -> None:
            super().__init__()
            self.fn = fn

        def forward(self, x: torch.Tensor) -> Any:
            return self.fn(x)

    return FunctionActivation


def checked_output(activation: Activation, x: torch.Tensor, y: object) -> torch.Tensor:
    """``y`` if it is what an activation must return for ``x``; else a clear error.

    Four things go wrong with hand-written activations: the result is not a
    tensor, it is complex, it is not elementwise (another shape), or it was computed outside
    autograd (``.detach()``, ``.numpy()``, ``torch.no_grad()``), which torch only
    reports later, at ``backward()``, as "element 0 of tensors does not require
    grad and does not have a grad_fn".
    """
    import torch

    name = activation.name
    if not isinstance(y, torch.Tensor):
        raise CustomActivationError(f"{name} returned a {type(y).__name__}, not a tensor")
    if y.is_complex():
        raise CustomActivationError(
            f"{name} returned complex values ({y.dtype}); an activation must return real numbers"
        )
    if y.shape != x.shape:
        raise CustomActivationError(
            f"{name} returned shape {tuple(y.shape)}, not the shape of its {x.dim()}-D input; "
            "an activation must be elementwise"
        )
    if not y.requires_grad:
        raise CustomActivationError(
            f"{name} returned a tensor that does not require grad: it was computed outside "
            "autograd (.detach(), .numpy(), torch.no_grad() or a new tensor), so backward() "
            "would fail with 'element 0 of tensors does not require grad and does not have "
            "a grad_fn'; compute it with torch operations on x"
        )
    return y
