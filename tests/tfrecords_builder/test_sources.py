"""Source adapters, each on a tiny tree mimicking its dataset layout."""

import os

import av
import cv2
import numpy as np
import pytest

from kerasfer.errors import ConfigError, LabelError
from tfrecords_builder.sources import (SOURCE_KINDS, BioVid, ClassFolders, CsvSource,
                                       UnbcMcMaster, make_source)


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory):
    """A real 4-frame 32×32 MPEG-4 video that the adapters copy into their trees."""
    path = tmp_path_factory.mktemp("video") / "tiny.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 32
        stream.pix_fmt = "yuv420p"
        for index in range(4):
            image = np.full((32, 32, 3), 40 * index, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path.read_bytes()


def put(path, data=b""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return str(path)


def test_csv_with_header_relative_paths_and_bad_rows(tmp_path, tiny_video):
    put(tmp_path / "clips" / "a.mp4", tiny_video)
    os.makedirs(tmp_path / "frames" / "seq1")
    cv2.imwrite(str(tmp_path / "frames" / "seq1" / "0001.png"), np.zeros((8, 8, 3), np.uint8))
    elsewhere = put(tmp_path / "other" / "b.avi", tiny_video)
    (tmp_path / "lists").mkdir()
    csv_path = tmp_path / "lists" / "labels.csv"
    csv_path.write_text(
        "path,label,subject,split\n"
        "../clips/a.mp4,happy,s1,train\n"
        "# a comment\n\n"
        f"{elsewhere},sad,s2,val\n"
        "../frames/seq1,neutral,s1,test\n"
        "only_a_path\n")
    errors = []
    items = CsvSource(csv_path).items(on_error=lambda i, e: errors.append((i, e)))
    assert [(i.video_id, i.label_name, i.subject, i.split, i.is_frame_folder) for i in items] == [
        ("../clips/a", "happy", "s1", "train", False),
        ("../other/b", "sad", "s2", "val", False),
        ("../frames/seq1", "neutral", "s1", "test", True),
    ]
    assert items[0].path == str(tmp_path / "clips" / "a.mp4")
    assert len(errors) == 1 and isinstance(errors[0][1], LabelError)
    assert "labels.csv:7" in str(errors[0][1]) and "got 1" in str(errors[0][1])
    with pytest.raises(LabelError, match="got 1"):
        CsvSource(csv_path).items()


def test_csv_without_header_and_unreadable(tmp_path, tiny_video):
    put(tmp_path / "x" / "c.mp4", tiny_video)
    (tmp_path / "list.csv").write_text("x/c.mp4,angry\nx/d.mp4,fear,7\n")
    items = CsvSource(tmp_path / "list.csv").items()
    assert [(i.video_id, i.label_name, i.subject, i.split) for i in items] == [
        ("x/c", "angry", "", ""), ("x/d", "fear", "7", "")]
    with pytest.raises(LabelError, match="CSV file not found"):
        CsvSource(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_bytes(b"path,label\n\xff\xfe\x00bad")
    with pytest.raises(LabelError, match="cannot read the CSV"):
        CsvSource(tmp_path / "bad.csv").items()
    (tmp_path / "header.csv").write_text("path,emotion\na.mp4,happy\n")
    with pytest.raises(LabelError, match="header"):
        CsvSource(tmp_path / "header.csv").items()


def test_class_folders_hmdb51_layout(tmp_path, tiny_video):
    for name in ("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi",
                 "brush_hair/b.avi", "smile/c.mp4"):
        put(tmp_path / name, tiny_video)
    put(tmp_path / "smile" / "readme.txt", b"not a video")
    put(tmp_path / "smile" / ".hidden.mp4", tiny_video)
    items = ClassFolders(tmp_path).items()
    assert [(i.video_id, i.label_name, i.split) for i in items] == [
        ("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0", "brush_hair", ""),
        ("brush_hair/b", "brush_hair", ""),
        ("smile/c", "smile", ""),
    ]


def test_class_folders_afew_layout(tmp_path, tiny_video):
    put(tmp_path / "Train" / "Angry" / "000046280.avi", tiny_video)
    put(tmp_path / "Train" / "Happy" / "000149120.avi", tiny_video)
    put(tmp_path / "Val" / "Angry" / "000149120.avi", tiny_video)  # same name, other split
    os.makedirs(tmp_path / "Val" / "Sad" / "011603980")
    cv2.imwrite(str(tmp_path / "Val" / "Sad" / "011603980" / "1.png"), np.zeros((8, 8, 3), np.uint8))
    items = ClassFolders(tmp_path).items()
    assert [(i.video_id, i.label_name, i.split, i.is_frame_folder) for i in items] == [
        ("Train/Angry/000046280", "Angry", "train", False),
        ("Train/Happy/000149120", "Happy", "train", False),
        ("Val/Angry/000149120", "Angry", "val", False),
        ("Val/Sad/011603980", "Sad", "val", True),
    ]
    assert len({i.video_id for i in items}) == len(items)
    os.rename(tmp_path / "Train", tmp_path / "Train_AFEW")  # EmotiW's folder names
    os.rename(tmp_path / "Val", tmp_path / "Val_AFEW")
    assert [(i.video_id, i.split) for i in ClassFolders(tmp_path).items()][::3] == [
        ("Train_AFEW/Angry/000046280", "train"), ("Val_AFEW/Sad/011603980", "val")]
    with pytest.raises(LabelError, match="no videos found"):
        ClassFolders(tmp_path / "Val_AFEW" / "Angry").items()
    with pytest.raises(LabelError, match="folder not found"):
        ClassFolders(tmp_path / "nope")


def make_unbc(root, frames=("ll042t1aaaff1.png", "ll042t1aaaff2.png", "ll042t1aaaff10.png")):
    sequences = {("042-ll042", "ll042t1aaaff"): 3, ("064-ak064", "ak064t1aaaff"): 0}
    for (subject, sequence), opi in sequences.items():
        for index, name in enumerate(frames):
            path = root / "Images" / subject / sequence / name
            os.makedirs(path.parent, exist_ok=True)
            cv2.imwrite(str(path), np.full((24, 24, 3), 30 * index, np.uint8))
            put(root / "Frame_Labels" / "PSPI" / subject / sequence /
                f"{os.path.splitext(name)[0]}_facs.txt",
                f"   {float(index * 4 + opi):.7e}\n".encode())
        put(root / "Sequence_Labels" / "OPI" / subject / f"{sequence}.txt",
            f"   {float(opi):.7e}\n".encode())


def test_unbc_mcmaster_sequences_opi_and_pspi(tmp_path):
    make_unbc(tmp_path)
    source = UnbcMcMaster(tmp_path)
    items = source.items()
    assert source.classes == ("0", "1", "2", "3", "4", "5")
    assert [(i.video_id, i.subject, i.label_name, i.is_frame_folder) for i in items] == [
        ("042-ll042/ll042t1aaaff", "042-ll042", "3", True),
        ("064-ak064/ak064t1aaaff", "064-ak064", "0", True),
    ]
    # Frame labels follow the decoder's natural frame order (1, 2, 10), not "1, 10, 2".
    assert items[0].frame_labels == [3.0, 7.0, 11.0]
    assert items[1].frame_labels == [0.0, 4.0, 8.0]


def test_unbc_job_writes_pspi_frame_labels_and_reports_bad_label_files(tmp_path):
    import json

    from kerasfer import schema
    from kerasfer.data import read_videos
    from tfrecords_builder.cli import main

    make_unbc(tmp_path / "UNBC")
    (tmp_path / "UNBC" / "Sequence_Labels" / "OPI" / "064-ak064" / "ak064t1aaaff.txt").write_text("")
    out = tmp_path / "out"
    assert main(["--source", f"unbc:{tmp_path / 'UNBC'}", "--out", str(out), "--no-detect",
                 "--crop-size", "16", "--no-progress"]) == 0
    assert schema.read_classes(out) == ["0", "1", "2", "3", "4", "5"]
    (record,) = schema.read_manifest(out)
    assert (record["id"], record["label"], record["has_frame_labels"]) == \
        ("042-ll042/ll042t1aaaff", 3, True)
    (video,) = list(read_videos(str(out)))
    # PSPI follows the decoder's natural frame order (1, 2, 10): labels 3, 7, 11 and grey
    # levels 0, 30, 60.
    np.testing.assert_array_equal(video["frame_label"], np.float32([3.0, 7.0, 11.0]))
    grey = video["frames"].reshape(3, -1).mean(axis=1)
    assert grey[0] < grey[1] < grey[2]
    (row,) = [json.loads(line) for line in open(out / "failures.jsonl")]
    assert (row["id"], row["kind"]) == ("064-ak064/ak064t1aaaff", "label")
    assert "ak064t1aaaff.txt" in row["path"] and "expected one number" in row["cause"]


def test_unbc_bad_label_files(tmp_path):
    make_unbc(tmp_path)
    opi = tmp_path / "Sequence_Labels" / "OPI" / "064-ak064" / "ak064t1aaaff.txt"
    opi.write_text("three\n")
    os.remove(tmp_path / "Frame_Labels" / "PSPI" / "042-ll042" / "ll042t1aaaff" /
              "ll042t1aaaff10_facs.txt")
    errors = []
    assert UnbcMcMaster(tmp_path).items(on_error=lambda i, e: errors.append((i, e))) == []
    assert [i for i, _ in errors] == ["042-ll042/ll042t1aaaff", "064-ak064/ak064t1aaaff"]
    messages = {i: str(e) for i, e in errors}
    assert "ll042t1aaaff10_facs.txt" in messages["042-ll042/ll042t1aaaff"]
    assert "expected one number" in messages["064-ak064/ak064t1aaaff"]
    assert all(isinstance(e, LabelError) for _, e in errors)


def test_unbc_without_frame_labels(tmp_path):
    make_unbc(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "Frame_Labels")
    assert all(item.frame_labels is None for item in UnbcMcMaster(tmp_path, fps=30.0).items())
    with pytest.raises(LabelError, match="Sequence_Labels"):
        UnbcMcMaster(tmp_path / "Images")


def test_biovid_part_a(tmp_path, tiny_video):
    names = ["071309_w_21/071309_w_21-BL1-081.mp4", "071309_w_21/071309_w_21-PA4-012.mp4",
             "082315_w_60/082315_w_60-PA1-001.mp4", "082315_w_60/082315_w_60-PA9-002.mp4",
             "082315_w_60/071309_w_21-PA2-003.mp4"]
    for name in names:
        put(tmp_path / "PartA" / "video" / name, tiny_video)
    put(tmp_path / "PartA" / "video" / "082315_w_60" / "notes.csv", b"x")
    errors = []
    for root in (tmp_path / "PartA", tmp_path / "PartA" / "video"):
        errors.clear()
        source = BioVid(root)
        items = source.items(on_error=lambda i, e: errors.append((i, e)))
        assert [(i.video_id, i.subject, i.label_name) for i in items] == [
            ("071309_w_21/071309_w_21-BL1-081", "071309_w_21", "BL1"),
            ("071309_w_21/071309_w_21-PA4-012", "071309_w_21", "PA4"),
            ("082315_w_60/082315_w_60-PA1-001", "082315_w_60", "PA1"),
        ]
        assert sorted(i for i, _ in errors) == ["082315_w_60/071309_w_21-PA2-003",
                                                "082315_w_60/082315_w_60-PA9-002"]
    assert source.classes == ("BL1", "PA1", "PA2", "PA3", "PA4")


def test_source_registry(tmp_path, tiny_video):
    put(tmp_path / "happy" / "a.mp4", tiny_video)
    assert list(SOURCE_KINDS)[:4] == ["csv", "folders", "unbc", "biovid"]
    assert isinstance(make_source(f"folders:{tmp_path}"), ClassFolders)
    for spec in ("avi:/x", "folders", "folders:"):
        with pytest.raises(ConfigError, match="kind in csv, folders, unbc, biovid"):
            make_source(spec)


def test_register_source_adds_a_kind_to_make_source_and_the_cli(tmp_path, tiny_video):
    """One class + one decorator: the kind reaches make_source and `--help`, no other edit."""
    from tfrecords_builder.cli import build_parser
    from tfrecords_builder.sources import register_source
    from tfrecords_builder.sources.source_registry import SOURCE_HELP

    @register_source("lab_test_only", usage="lab_test_only:ROOT", help="ROOT/<label>.mp4")
    class LabFolder:
        """A flat folder whose file names are the labels."""

        classes = None

        def __init__(self, root):
            self.root = root

        def items(self, on_error=None):
            return []

    try:
        source = make_source(f"lab_test_only:{tmp_path}")
        assert isinstance(source, LabFolder) and source.kind == "lab_test_only"
        assert source.root == str(tmp_path)
        help_text = build_parser().format_help()
        assert "lab_test_only:ROOT" in help_text and "ROOT/<label>.mp4" in help_text
        with pytest.raises(ValueError, match="already registered"):
            register_source("csv")(LabFolder)
        with pytest.raises(ValueError, match="Received: kind='a b'"):
            register_source("a b")
    finally:
        SOURCE_KINDS.pop("lab_test_only", None)
        SOURCE_HELP.pop("lab_test_only", None)


def test_every_module_of_the_sources_folder_is_registered():
    """A new source file is picked up by the registry without editing `__init__.py`."""
    import pkgutil

    import tfrecords_builder.sources as package

    modules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    registered = {cls.__module__.rsplit(".", 1)[1] for cls in SOURCE_KINDS.values()}
    assert modules - registered == {"_paths", "item_list", "source_registry"}
