"""The Colab notebooks in `notebooks/`: Colab-ready, stored stripped, and executed at QUICK.

Every notebook opens with a Colab badge, installs kerasfer from the repository URL held in
one `REPOSITORY` variable when the kernel lacks it, has a `QUICK` flag, no local absolute
paths, and no stored outputs. The `slow` tests execute each notebook with nbclient at its
QUICK settings and check the numbers it printed and the files it wrote.
"""

import csv
import glob
import json
import math
import os
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "notebooks")
NOTEBOOKS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(NOTEBOOK_DIR, "*.ipynb")))
CELL_TIMEOUT_SECONDS = 600
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A local absolute path in a notebook's source breaks it on Colab and on any other machine.
LOCAL_PATH = re.compile(r"""["'](/(work|tmp|root|home|Users|mnt)/|[A-Z]:\\\\)""")


def _read(name):
    return nbformat.read(os.path.join(NOTEBOOK_DIR, name), as_version=4)


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


def _execute(name, tmp_path):
    notebook = _read(name)
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_SECONDS,
                                     kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError (with the traceback) if any cell fails
    return notebook


def test_the_five_notebooks_exist():
    assert set(NOTEBOOKS) >= {"01_build_tfrecords.ipynb", "02_train_with_stochastic_softmax.ipynb",
                              "03_evaluate_export_predict.ipynb", "04_paper_models.ipynb",
                              "quickstart.ipynb"}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_colab_ready_and_stored_without_outputs(name):
    notebook = _read(name)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]
        assert not LOCAL_PATH.search(cell.source), (name, LOCAL_PATH.search(cell.source))
        assert "seed 00" not in cell.source.lower(), name
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    assert "colab.research.google.com/assets/colab-badge.svg" in first.source
    assert f"colab.research.google.com/github/kerasfer/kerasfer/blob/main/notebooks/{name}" \
        in first.source
    install = notebook.cells[1].source
    assert re.search(r'^REPOSITORY = "https://github\.com/[\w-]+/[\w-]+"$', install, re.M)
    settings = notebook.cells[2].source
    assert re.search(r"^QUICK = True$", settings, re.M) and "GPU" in settings


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_install_cell_installs_from_the_repository_when_kerasfer_is_missing(
        name, monkeypatch, capsys):
    import importlib.util
    import subprocess

    install = _read(name).cells[1].source
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda n, *a: None if n == "kerasfer" else real_find_spec(n, *a))
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: commands.append(command))
    namespace = {}
    exec(compile(install, "install-cell", "exec"), namespace)
    repository = namespace["REPOSITORY"]
    assert commands and commands[0][1:4] == ["-m", "pip", "install"]
    assert f"git+{repository}" in commands[0][-1]
    assert "kerasfer" in capsys.readouterr().out


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_install_cell_is_a_no_op_when_kerasfer_is_importable(name, monkeypatch, capsys):
    import subprocess

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip was called"))
    namespace = {}
    exec(compile(_read(name).cells[1].source, "install-cell", "exec"), namespace)
    assert namespace["kerasfer"].__version__ in capsys.readouterr().out


@pytest.mark.slow
def test_quickstart_notebook_runs_end_to_end_above_chance(tmp_path):
    notebook = _execute("quickstart.ipynb", tmp_path)
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
    assert len(_png_outputs(crops)) == 1

    # 2. Synthetic dataset; 3. training ran the requested epochs.
    synthetic = _cell_with(notebook, "write_synthetic_dataset(")
    assert re.search(r"^\d+ videos, classes \['Happy', 'Sad', 'Surprise'\]", _stdout(synthetic))
    training = _stdout(_cell_with(notebook, "Experiment(config)"))
    epochs = int(re.search(r"'epochs_run': (\d+)", training).group(1))
    assert epochs >= 2
    sampler = _cell_with(notebook, "sampler.distribution(")
    assert "probabilities sum to 1.000000" in _stdout(sampler)
    for name in ("carphone_crops", "expression_intensity", "sampler_scores"):
        assert _is_png(work / "figures" / f"{name}.png"), name

    # 4. Evaluation clearly above chance (1/3 for three classes).
    evaluation = _stdout(_cell_with(notebook, "evaluate_run(run_dir)"))
    accuracy, chance = map(float, re.search(r"accuracy ([\d.]+), UAR [\d.]+ \(chance ([\d.]+)\)",
                                            evaluation).groups())
    assert accuracy >= chance + 0.2, evaluation
    report = json.loads((work / "run" / "evaluation" / "report.json").read_text())
    assert sum(map(sum, report["confusion_matrix"])) == report["num_videos"]

    # 5. The served example: a distribution, and the same class as the evaluation's.
    served = _stdout(_cell_with(notebook, 'signatures["serving_default"]'))
    assert re.search(r"input uint8 \(1, \d+, 32, 32, 3\), frame_scores \(1, \d+, 3\)", served)
    probabilities = json.loads(re.search(r"^probabilities (\{.*\})$", served, re.M).group(1))
    assert list(probabilities) == ["Happy", "Sad", "Surprise"]
    assert math.isclose(sum(probabilities.values()), 1.0, abs_tol=1e-4)
    predicted = re.search(r"^predicted: (\w+)", served, re.M).group(1)
    assert predicted == max(probabilities, key=probabilities.get)
    assert re.search(r"same as the evaluation's prediction: True", served), served
    match = re.search(r"served (\d+) validation videos: accuracy ([\d.]+), same predictions as "
                      r"the evaluation for (\d+)/(\d+)", served)
    assert match and match.group(1) == match.group(3) == match.group(4), served
    assert math.isclose(float(match.group(2)), accuracy, abs_tol=1e-3)


@pytest.mark.slow
def test_build_tfrecords_notebook_writes_faces_and_explains_failures(tmp_path):
    notebook = _execute("01_build_tfrecords.ipynb", tmp_path)
    work = tmp_path / "kerasfer_build_tfrecords"
    one_frame = _stdout(_cell_with(notebook, "align_face(rgb"))
    assert re.search(r"face box \[\d+, \d+, \d+, \d+\], 68 landmarks, aligned crop "
                     r"\(112, 112, 3\)", one_frame)
    assert "videos: 2 written, 0 skipped (already done), 2 failed, of 4 listed" in _stdout(
        _cell_with(notebook, "BuildJob("))
    failures = _stdout(_cell_with(notebook, "failures.jsonl"))
    assert re.search(r"^\[decode\] happy/broken\.mp4: .*corrupt", failures, re.M)
    assert re.search(r"^\[no_face\] sad/bikes\.mp4: ", failures, re.M)
    assert failures.count("    fix: ") == 2
    crops = _stdout(_cell_with(notebook, "read_videos(tfrecords_dir)"))
    assert "2 videos read back, crops (112, 112, 3)" in crops
    for name in ("one_frame", "aligned_crops"):
        assert _is_png(work / "figures" / f"{name}.png"), name


@pytest.mark.slow
def test_stochastic_softmax_notebook_trains_both_samplers_with_tensorboard(tmp_path):
    notebook = _execute("02_train_with_stochastic_softmax.ipynb", tmp_path)
    work = tmp_path / "kerasfer_stochastic_softmax"
    training = _stdout(_cell_with(notebook, "for kind in (\"uniform\", \"softmax\")"))
    assert training.count("'epochs_run':") == 2
    tensorboard = _cell_with(notebook, "%tensorboard")
    assert not [o for o in tensorboard.outputs if o.get("output_type") == "error"]
    maps = _stdout(_cell_with(notebook, "render_sampling_map"))
    uniform, softmax = (re.search(rf"^{k}: (\d+) clip starts, max p ([\d.]+) \(uniform would be "
                                  rf"([\d.]+)\)", maps, re.M).groups() for k in ("uniform",
                                                                                  "softmax"))
    assert math.isclose(float(uniform[1]), float(uniform[2]), abs_tol=1e-3)  # flat
    assert float(softmax[1]) > float(softmax[2])                           # learned peak
    side_by_side = _stdout(_cell_with(notebook, "accuracy[kind] = "))
    for kind in ("uniform", "softmax"):
        value = float(re.search(rf"{kind}\s*: whole-video accuracy ([\d.]+)", side_by_side)
                      .group(1))
        assert 0.0 <= value <= 1.0
    for name in ("sampling_maps", "uniform_vs_softmax"):
        assert _is_png(work / "figures" / f"{name}.png"), name
    assert "stopped TensorBoard" in _stdout(notebook.cells[-1])


@pytest.mark.slow
def test_evaluate_export_predict_notebook_predicts_the_real_video(tmp_path):
    notebook = _execute("03_evaluate_export_predict.ipynb", tmp_path)
    work = tmp_path / "kerasfer_evaluate_export_predict"
    evaluation = _stdout(_cell_with(notebook, "evaluate_run(run_dir)"))
    accuracy, chance = map(float, re.search(r"accuracy ([\d.]+), UAR [\d.]+ \(chance ([\d.]+)\)",
                                            evaluation).groups())
    assert accuracy > chance, evaluation
    assert (work / "run" / "export" / "saved_model.pb").exists()
    predicted = _stdout(_cell_with(notebook, '"-m", "kerasfer.predict"'))
    assert "exit code 0" in predicted
    out = work / "predictions"
    rows = list(csv.DictReader(open(out / "carphone_pristine.csv")))
    assert len(rows) == 120 and sum(r["face_found"] == "1" for r in rows) >= 110
    assert _is_png(out / "carphone_pristine_timeline.png")
    assert "annotated video: 120 frames" in _stdout(_cell_with(notebook, "annotated frame"))
    assert "same as the CLI: True" in _stdout(_cell_with(notebook, "kerasfer.Predictor("))


@pytest.mark.slow
def test_paper_models_notebook_runs_each_family(tmp_path):
    notebook = _execute("04_paper_models.ipynb", tmp_path)
    work = tmp_path / "kerasfer_paper_models"
    registry = _stdout(_cell_with(notebook, "list_models()"))
    for name in ("c3d", "i3d_vgg16", "r3d_18", "spatial_attention_vgg16", "cnn_bilstm"):
        assert re.search(rf"^{name}\s+(dense|strided|clip)\s+tiny:", registry, re.M), name
    attention = _stdout(_cell_with(notebook, "attention_maps("))
    assert re.search(r"attention maps \(1, 8, 2, \d+, \d+\), each sums to 1\.000", attention)
    lstm_pb = _stdout(_cell_with(notebook, "LSTMParametricBias("))
    first, last = map(float, re.search(r"next-frame MSE ([\d.]+) -> ([\d.]+)", lstm_pb).groups())
    assert last < first / 10, lstm_pb  # the learning mode learns the real landmark sequences
    genuine_fake = _stdout(_cell_with(notebook, "relaxed_aggregation_genuine_fake"))
    assert "exit code 0" in genuine_fake
    assert 0.0 <= float(re.search(r"MAP ([\d.]+)$", genuine_fake, re.M).group(1)) <= 1.0
    fusion = _stdout(_cell_with(notebook, "audio_visual_fusion"))
    assert "exit code 0" in fusion
    accuracy = re.search(r"test accuracy: (\{.*\}) chance ([\d.]+)", fusion)
    assert accuracy and "fusion_svm" in accuracy.group(1), fusion
    for name in ("attention_maps", "lstm_pb", "genuine_fake", "fusion"):
        assert _is_png(work / "figures" / f"{name}.png"), name
