"""`ItemList`: a source made of `VideoItem`s given directly (API use, `--demo`)."""

from __future__ import annotations


class ItemList:
    """A source adapter over a fixed list of `VideoItem`s.

    Args:
        items: list of `VideoItem`.
        classes: sequence of str or None. Class order; None sorts the labels found.
            Defaults to None.

    Example:

    >>> source = ItemList([VideoItem(path="a.mp4", video_id="a", label_name="happy")])
    """

    kind = "items"

    def __init__(self, items, classes=None):
        self._items = list(items)
        self.classes = None if classes is None else tuple(classes)

    def items(self, on_error=None):
        """Returns the items (`on_error` is unused: there is nothing to read)."""
        del on_error
        return list(self._items)
