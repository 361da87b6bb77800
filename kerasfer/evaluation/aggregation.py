"""Mean ± standard error over repeated runs (seeds) or cross-validation folds.

Ayral (2021) master's thesis reports every result as mean ± standard error over runs with
different random seeds (e.g. Table 3.1: 47.35 ± 0.27 %), over the 25 leave-one-subject-out
folds of UNBC-McMaster, the 8 subject-independent folds of BioVid and the 3 HMDB-51 splits
(Section 3.3.1.1). The standard error is the sample standard deviation (n − 1) over √n.

Example:

>>> mean_standard_error([0.40, 0.42, 0.44])
(0.42, 0.011547005383792526, 3)
"""

from __future__ import annotations

import math

import numpy as np


def mean_standard_error(values):
    """Returns `(mean, standard error, n)` of the finite values; SE is None when n < 2."""
    values = np.asarray([v for v in values if v is not None], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None, None, 0
    mean = float(values.mean())
    if values.size < 2:
        return mean, None, 1
    return mean, float(values.std(ddof=1) / math.sqrt(values.size)), int(values.size)


def _scalars(report):
    # Every numeric top-level metric plus per-class recalls, flattened to "key" / "key/class".
    # A null (NaN written to JSON, e.g. a class absent from the split) is kept as None.
    def numeric(value):
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))

    flat = {}
    for key, value in report.get("metrics", {}).items():
        if isinstance(value, dict):
            flat.update({f"{key}/{sub}": v for sub, v in value.items() if numeric(v)})
        elif numeric(value):
            flat[key] = value
    return flat


def aggregate_reports(reports, names=None):
    """Aggregates evaluation reports (dicts from `build_report`) of repeated runs or folds.

    Args:
        reports: list of report dicts, each with a "metrics" mapping.
        names: list of str or None. A label per report (run directory). Defaults to None.

    Returns:
        dict with "runs" (the names), "num_runs" and "metrics": metric → {"mean", "se", "n",
        "values"} for every numeric metric (nested ones as "per_class_recall/<class>").
    """
    if not reports:
        raise ValueError("Nothing to aggregate: pass at least one report. Received: reports=[]")
    names = list(names) if names is not None else [f"run_{i}" for i in range(len(reports))]
    flats = [_scalars(report) for report in reports]
    keys = list(dict.fromkeys(key for flat in flats for key in flat))
    metrics = {}
    for key in keys:
        values = [flat.get(key) for flat in flats]
        mean, se, n = mean_standard_error(values)
        metrics[key] = {"mean": mean, "se": se, "n": n, "values": values}
    return {"runs": names, "num_runs": len(reports), "metrics": metrics}
