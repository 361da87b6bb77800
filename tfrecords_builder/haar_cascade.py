"""`HaarCascade`: a NumPy Viola–Jones evaluator for OpenCV's Haar cascade XML files.

OpenCV 5 moved `cv2.CascadeClassifier` out of the main `opencv-python-headless` wheel
(it now lives in the contrib build), yet the trained cascades still ship as XML (e.g. in
the `fer` wheel). This class reads both XML layouts (the old `opencv-haar-classifier`
and the new `opencv-cascade-classifier`, stump trees) and runs the detector the way
OpenCV's `detectMultiScale` does (Viola & Jones, CVPR 2001; Lienhart & Maydt, ICIP 2002):

* an image pyramid with `scale_factor` steps and a fixed `size` window (24×24), windows
  every 2 px while the pyramid factor is ≤ 2, every pixel beyond;
* integral images; each window normalised by `sqrt(area·Σx² − (Σx)²)` over its inner
  `(w−2)×(h−2)` rectangle, flat windows rejected;
* each stump adds `left` if `feature < threshold · norm` else `right`; a window survives a
  stage when the sum reaches the stage threshold (all windows of a stage are evaluated at
  once, which keeps the Python overhead to one loop over stages);
* detections grouped like `cv::groupRectangles` (eps 0.2, more than `min_neighbors`
  members), and small boxes nested in stronger ones dropped.

Why keep it (decision of 2 Dec 2026, issue 14; measured, not assumed). kerasfer depends on
`opencv-python-headless>=4.8`, which resolves to 5.0.0.93 here and on a fresh install:
`cv2.CascadeClassifier` does not exist there, so without this file `--detector haar` would
not run on the default install. OpenCV 4.x wheels (4.14.0.94 is on PyPI) still have it. On
all 120 carphone frames (176×144, equalised grey, scaleFactor 1.1, minNeighbors 4, minSize
24), OpenCV 4.14's `detectMultiScale` and this class find a face in the same 72 frames and
the same number of boxes in all 120; 117 frames agree within 1 px, 3 within 3 px. CPU time
(`time.process_time`, one thread, machine loaded by 8 engineers on 2 cores): OpenCV 4.14
1.2 s, this class 11.6 s, i.e. ~10 ms vs ~96 ms a frame (9.5× slower). So: the builder uses
`cv2.CascadeClassifier` whenever the installed OpenCV has it (`detectors.haar_backend()`)
and falls back to this class on OpenCV 5. Pinning `opencv-python-headless<5` instead was
rejected: it would hold the whole stack (JPEG, resizing, colour conversion, predict's
video I/O) on 4.x for a detector that is not the default (dlib HOG is), and would clash
with environments (Colab, `fer`'s contrib wheel) that already carry OpenCV 5. Delete this
file once OpenCV 5's main wheel ships `CascadeClassifier` again, or if `haar` is dropped.

Example:

>>> cascade = HaarCascade(haar_cascade_path())
>>> cascade.detect(grey)  # int32 (faces, 4) as (x, y, width, height)
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import numpy as np

_GROUP_EPS = 0.2


def _numbers(node, tag):
    return [float(v) for v in node.find(tag).text.split()]


def _rects(feature):
    rects = [[float(v) for v in r.text.split()] for r in feature.find("rects")]
    tilted = feature.find("tilted")
    if tilted is not None and int(tilted.text) != 0:
        raise ValueError("tilted Haar features are not supported")
    return rects


class HaarCascade:
    """A stump-based Haar cascade read from OpenCV XML, evaluated with NumPy.

    Args:
        path: str. Cascade XML (e.g. `haarcascade_frontalface_default.xml`).
    """

    def __init__(self, path):
        self.path = path
        root = ElementTree.parse(path).getroot()[0]
        stages = []
        if root.find("stageType") is not None:  # New layout: shared feature table.
            width, height = int(root.find("width").text), int(root.find("height").text)
            features = [_rects(f) for f in root.find("features")]
            for stage in root.find("stages"):
                stumps = []
                for weak in stage.find("weakClassifiers"):
                    nodes = _numbers(weak, "internalNodes")
                    leaves = _numbers(weak, "leafValues")
                    if len(nodes) != 4:
                        raise ValueError(f"{path}: only stump cascades are supported")
                    stumps.append((features[int(nodes[2])], nodes[3], leaves[0], leaves[1]))
                stages.append((float(stage.find("stageThreshold").text), stumps))
        else:  # Old layout: every node carries its own feature.
            width, height = (int(v) for v in root.find("size").text.split())
            for stage in root.find("stages"):
                stumps = []
                for tree in stage.find("trees"):
                    if len(tree) != 1 or tree[0].find("left_val") is None:
                        raise ValueError(f"{path}: only stump cascades are supported")
                    node = tree[0]
                    stumps.append((_rects(node.find("feature")),
                                   float(node.find("threshold").text),
                                   float(node.find("left_val").text),
                                   float(node.find("right_val").text)))
                stages.append((float(stage.find("stage_threshold").text), stumps))
        self.window = (width, height)
        self.stages = [self._pack(threshold, stumps) for threshold, stumps in stages]

    @staticmethod
    def _pack(stage_threshold, stumps):
        rects = np.zeros((len(stumps), 3, 5), np.float64)  # x, y, w, h, weight
        for index, (feature, _, _, _) in enumerate(stumps):
            rects[index, : len(feature)] = feature
        x, y, w, h, weight = (rects[..., i] for i in range(5))
        # A rectangle sum is 4 integral-image corners: +(y+h, x+w) −(y, x+w) −(y+h, x) +(y, x).
        rows = np.concatenate([y + h, y, y + h, y], axis=1).astype(np.int64)
        cols = np.concatenate([x + w, x + w, x, x], axis=1).astype(np.int64)
        coefficients = np.concatenate([weight, -weight, -weight, weight], axis=1)
        thresholds = np.array([s[1] for s in stumps])
        left = np.array([s[2] for s in stumps])
        right = np.array([s[3] for s in stumps])
        return stage_threshold, rows, cols, coefficients, thresholds, left, right

    def _windows(self, grey, factor, min_size):
        import cv2

        width, height = self.window
        size = (int(round(grey.shape[1] / factor)), int(round(grey.shape[0] / factor)))
        image = cv2.resize(grey, size, interpolation=cv2.INTER_LINEAR) if factor != 1 else grey
        integral, squared = cv2.integral2(image, sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
        stride = integral.shape[1]
        integral, squared = integral.ravel(), squared.ravel()
        step = 1 if factor > 2 else 2
        ys, xs = np.mgrid[0: size[1] - height + 1: step, 0: size[0] - width + 1: step]
        # Windows are addressed by the flat index of their top-left integral-image corner.
        origins = (ys * stride + xs).ravel()

        inner = np.array([(height - 1) * stride + width - 1, stride + width - 1,
                          (height - 1) * stride + 1, stride + 1])
        signs = np.array([1.0, -1.0, -1.0, 1.0])
        area = (width - 2) * (height - 2)
        total = integral[origins[:, None] + inner] @ signs
        norm = area * (squared[origins[:, None] + inner] @ signs) - total ** 2
        alive = norm > 0
        norm = np.sqrt(np.where(alive, norm, 1.0))
        alive &= area / norm < 0.1  # OpenCV skips (near-)flat windows.
        origins, norm = origins[alive], norm[alive]
        for stage_threshold, rows, cols, coefficients, thresholds, left, right in self.stages:
            if len(origins) == 0:
                break
            offsets = rows * stride + cols
            values = (integral[origins[:, None, None] + offsets[None]] * coefficients).sum(axis=2)
            votes = np.where(values < thresholds * norm[:, None], left, right).sum(axis=1)
            keep = votes >= stage_threshold
            origins, norm = origins[keep], norm[keep]
        ys, xs = np.divmod(origins, stride)
        boxes = np.stack([np.round(xs * factor), np.round(ys * factor),
                          np.full(len(xs), round(width * factor)),
                          np.full(len(xs), round(height * factor))], axis=1)
        return boxes[(boxes[:, 2] >= min_size[0]) & (boxes[:, 3] >= min_size[1])]

    def detect(self, grey, scale_factor=1.1, min_neighbors=3, min_size=(24, 24)):
        """Detects objects in a grey uint8 image.

        Args:
            grey: uint8 `(height, width)`.
            scale_factor: float. Pyramid step. Defaults to 1.1.
            min_neighbors: int. A group needs more than this many raw windows.
                Defaults to 3.
            min_size: tuple. Smallest box `(width, height)`. Defaults to `(24, 24)`.

        Returns:
            int32 `(objects, 4)` boxes `(x, y, width, height)`.
        """
        if scale_factor <= 1:
            raise ValueError(f"`scale_factor` must be > 1. Received: scale_factor={scale_factor}")
        width, height = self.window
        candidates = []
        factor = 1.0
        while grey.shape[1] / factor >= width and grey.shape[0] / factor >= height:
            candidates.append(self._windows(grey, factor, min_size))
            factor *= scale_factor
        boxes = np.concatenate(candidates) if candidates else np.zeros((0, 4))
        return group_rectangles(boxes, min_neighbors)


def group_rectangles(boxes, min_neighbors, eps=_GROUP_EPS):
    """Clusters similar boxes and averages them, as `cv::groupRectangles` does.

    Args:
        boxes: array `(boxes, 4)` as (x, y, width, height).
        min_neighbors: int. Clusters with at most this many members are dropped.
        eps: float. Relative tolerance of the similarity test. Defaults to 0.2.

    Returns:
        int32 `(groups, 4)`.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    count = len(boxes)
    parent = list(range(count))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(count):
        a = boxes[i]
        # Vectorised similarity test of box i against the later boxes.
        b = boxes[i + 1:]
        delta = eps * (np.minimum(a[2], b[:, 2]) + np.minimum(a[3], b[:, 3])) * 0.5
        similar = ((np.abs(a[0] - b[:, 0]) <= delta) & (np.abs(a[1] - b[:, 1]) <= delta)
                   & (np.abs(a[0] + a[2] - b[:, 0] - b[:, 2]) <= delta)
                   & (np.abs(a[1] + a[3] - b[:, 1] - b[:, 3]) <= delta))
        for j in np.nonzero(similar)[0] + i + 1:
            parent[find(int(j))] = find(i)
    labels = np.array([find(i) for i in range(count)], np.int64)
    groups, members = [], []
    for label in np.unique(labels):
        mask = labels == label
        if mask.sum() > min_neighbors:
            groups.append(np.round(boxes[mask].mean(axis=0)))
            members.append(int(mask.sum()))
    kept = []
    for i, (r1, n1) in enumerate(zip(groups, members)):
        nested = False
        for j, (r2, n2) in enumerate(zip(groups, members)):
            dx, dy = round(r2[2] * eps), round(r2[3] * eps)
            if (i != j and r1[0] >= r2[0] - dx and r1[1] >= r2[1] - dy
                    and r1[0] + r1[2] <= r2[0] + r2[2] + dx and r1[1] + r1[3] <= r2[1] + r2[3] + dy
                    and (n2 > max(3, n1) or n1 < 3)):
                nested = True
                break
        if not nested:
            kept.append(r1)
    return np.array(kept, np.int32).reshape(-1, 4)
