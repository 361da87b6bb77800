"""Dataset layouts: each module lists the `VideoItem`s of one layout."""
