"""The class list of a dataset (`classes.json`, index = label), stable across reruns."""

from __future__ import annotations

import os

from kerasfer import schema
from kerasfer.errors import LabelError


def parse_classes_argument(value):
    """Parses `--classes`: `a,b,c`, or a file with one name per line or a JSON list."""
    if value is None:
        return None
    if os.path.isfile(value):
        import json

        with open(value, encoding="utf-8") as handle:
            text = handle.read()
        try:
            names = json.loads(text)
        except json.JSONDecodeError:
            names = text.splitlines()
        if not isinstance(names, list):
            raise LabelError(value, "expected a JSON list or one class name per line",
                             "write the class names in label order")
    else:
        names = value.split(",")
    names = [str(name).strip() for name in names if str(name).strip()]
    if not names or len(set(names)) != len(names):
        raise LabelError(value, "the class list is empty or repeats a name",
                         "give each class once, in label order, e.g. --classes neutral,happy")
    return names


def resolve_classes(directory, labels, explicit=None, source_default=None):
    """Returns the class list of a run and writes `classes.json` if it changed.

    Order of authority: `explicit` (`--classes`) is the whole list; otherwise an existing
    `classes.json` is kept and new labels are appended (indices already written never
    move); otherwise the source's own order (BioVid `BL1, PA1–PA4`, UNBC OPI `0–5`),
    then the remaining labels sorted.

    Args:
        directory: str. The dataset directory.
        labels: iterable of str. Label names of the listed videos ("" = unlabelled).
        explicit: list of str or None. From `--classes`.
        source_default: sequence of str or None. The source adapter's `classes`.

    Returns:
        list of str, index = label.
    """
    path = os.path.join(directory, schema.CLASSES_FILENAME)
    existing = schema.read_classes(directory) if os.path.exists(path) else None
    if explicit is not None:
        if existing is not None and list(explicit[:len(existing)]) != existing:
            raise LabelError(path, f"the directory's classes {existing} are not the start of "
                             f"--classes {list(explicit)}",
                             "pass the same order (new classes at the end) or use --overwrite")
        classes = list(explicit)
    else:
        classes = list(existing if existing is not None else (source_default or []))
        classes += sorted({label for label in labels if label} - set(classes))
    if classes != existing:
        schema.write_json_atomic(path, classes)
    return classes
