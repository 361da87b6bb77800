"""The registry of source kinds behind `--source <kind>:<path>`.

Adding a dataset layout is one file in `tfrecords_builder/sources/` holding one class
decorated with `@register_source("<kind>")`: every module of this folder is imported when
the registry is first imported, so the class lands in `SOURCE_KINDS`, in `make_source` and in
the CLI's `--source` choices and help without editing any other file.

A source class takes the path of the spec as its one positional argument and has
`items(on_error=None) -> list[VideoItem]` and a `classes` attribute (tuple of label names in
label-index order, or None to sort the labels found).
"""

from __future__ import annotations

import importlib
import pkgutil
import textwrap

from kerasfer.errors import ConfigError

SOURCE_KINDS = {}
"""dict: kind name → source class, filled by `register_source`."""

SOURCE_HELP = {}
"""dict: kind name → (usage, one-line description) shown by `python -m tfrecords_builder --help`."""


def register_source(kind, usage=None, help=None):  # noqa: A002 - mirrors argparse's name
    """Class decorator registering a dataset source under `--source <kind>:<path>`.

    Args:
        kind: str. The name before the colon in `--source`, e.g. `"ravdess"`.
        usage: str or None. The spec shown in `--help`, e.g. `"ravdess:ROOT"`. Defaults to
            None (`"<kind>:PATH"`).
        help: str or None. One line for `--help`. Defaults to None (the first line of the
            class docstring).

    Returns:
        The decorator; it sets `cls.kind = kind` and returns the class unchanged otherwise.

    Example:

    >>> @register_source("mylab", usage="mylab:ROOT", help="ROOT/<subject>/<label>.mp4")
    ... class MyLab:
    ...     classes = None
    ...     def __init__(self, root): self.root = root
    ...     def items(self, on_error=None): return []
    >>> make_source("mylab:/data/mylab").kind
    'mylab'
    """
    kind = str(kind)
    if not kind.isidentifier():
        raise ValueError(f"a source kind is a plain name (letters, digits, _). Received: kind={kind!r}")

    def decorator(cls):
        previous = SOURCE_KINDS.get(kind)
        if previous is not None and previous.__qualname__ != cls.__qualname__:
            raise ValueError(f"source kind {kind!r} is already registered by "
                             f"{previous.__module__}.{previous.__qualname__}. Received: kind={kind!r}")
        cls.kind = kind
        SOURCE_KINDS[kind] = cls
        doc = (cls.__doc__ or "").strip().splitlines()
        SOURCE_HELP[kind] = (usage or f"{kind}:PATH", help or (doc[0] if doc else ""))
        return cls

    return decorator


def make_source(spec):
    """Returns the source adapter of a `<kind>:<path>` spec, e.g. `csv:labels.csv`.

    Args:
        spec: str. `<kind>:<path>` with kind in `SOURCE_KINDS`.

    Example:

    >>> make_source("folders:AFEW").kind
    'folders'
    """
    kind, sep, path = str(spec).partition(":")
    if not sep or kind not in SOURCE_KINDS or not path:
        raise ConfigError("--source", f"expected <kind>:<path> with kind in "
                          f"{', '.join(SOURCE_KINDS)}, got {spec!r}",
                          "e.g. --source csv:labels.csv or --source folders:AFEW")
    return SOURCE_KINDS[kind](path)


def source_help():
    """Returns the `--help` lines describing every registered kind, one per kind."""
    lines = []
    for kind in SOURCE_KINDS:
        usage, text = SOURCE_HELP[kind]
        lines += textwrap.wrap(text, 88, initial_indent=f"  {usage:<14} ",
                               subsequent_indent=" " * 17) or [f"  {usage}"]
    return "\n".join(lines)


def _import_source_modules():
    # Import every module of this folder once so that their decorators run; the built-in
    # kinds come first in a fixed order (csv, folders, unbc, biovid), new files after them
    # in name order, so `--help` and error messages read the same on every machine.
    import tfrecords_builder.sources as package

    first = ["csv_source", "class_folders", "unbc_mcmaster", "biovid"]
    names = sorted(info.name for info in pkgutil.iter_modules(package.__path__)
                   if not info.name.startswith("_") and info.name != "source_registry")
    for name in first + [name for name in names if name not in first]:
        importlib.import_module(f"{package.__name__}.{name}")


_import_source_modules()
