"""`BuildSummary`: what one builder run did."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class BuildSummary:
    """Counts of one `BuildJob.run`.

    Args:
        directory: str. The dataset directory.
        listed: int. Videos the source listed (including failed and skipped ones).
        written: int. Videos written by this run.
        skipped: int. Videos already in the manifest (resume).
        failed: int. Videos reported in `failures.jsonl`.
        frames_kept: int. Frames written by this run (faces found).
        frames_total: int. Frames decoded from the written videos.
        seconds: float. Wall time of the run.
        shards: list of str. Shards this run added.
        stopped_early: str. "" or why the run stopped before the end ("strict",
            "interrupted"). Defaults to "".
    """

    directory: str
    listed: int = 0
    written: int = 0
    skipped: int = 0
    failed: int = 0
    frames_kept: int = 0
    frames_total: int = 0
    seconds: float = 0.0
    shards: list = dataclasses.field(default_factory=list)
    stopped_early: str = ""

    @property
    def succeeded(self):
        """True when the dataset holds at least one video and the run was not stopped."""
        return not self.stopped_early and self.written + self.skipped > 0

    def text(self):
        """A short human summary (a few lines)."""
        share = 100.0 * self.frames_kept / self.frames_total if self.frames_total else 0.0
        lines = [
            f"videos: {self.written} written, {self.skipped} skipped (already done), "
            f"{self.failed} failed, of {self.listed} listed",
            f"frames: {self.frames_kept} kept of {self.frames_total} decoded ({share:.1f}%) "
            f"in {len(self.shards)} new shard(s)",
            f"time: {self.seconds:.1f} s"
            + (f" ({self.written / self.seconds:.2f} videos/s, "
               f"{self.frames_total / self.seconds:.1f} decoded frames/s, start-up included)"
               if self.written and self.seconds else ""),
            f"output: {self.directory}",
        ]
        if self.listed and self.skipped == self.listed:
            lines.insert(0, f"all {self.listed} videos were already done: nothing to write")
        if self.failed:
            lines.append(f"failures: {self.directory}/failures.jsonl")
        if self.stopped_early:
            lines.append(f"stopped early: {self.stopped_early}")
        return "\n".join(lines)
