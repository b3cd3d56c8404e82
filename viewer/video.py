"""Writing frames to an mp4 (ffmpeg, from imageio-ffmpeg) or, failing that, an animated gif."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import PlaygroundError
from core.files import claim_new_file

VIDEO_SUFFIXES = (".mp4", ".gif")


class VideoWriter:
    """Collects RGB frames and writes them to `path` (`.mp4` or `.gif`).

    mp4 frames stream to ffmpeg as they come; gif frames are kept and written on close. The file must be new
    (or claimed empty beforehand with `core.files.new_file`): a recording never replaces a file.
    """

    def __init__(self, path: str | Path, fps: int) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in VIDEO_SUFFIXES:
            raise PlaygroundError(f"cannot record to {self.path}: use a .mp4 or .gif file name.")
        if not (self.path.is_file() and self.path.stat().st_size == 0 and not self.path.is_symlink()):
            claim_new_file(self.path)
        self.fps = fps
        self.frames_written = 0
        self._writer = None
        self._gif_frames: list[np.ndarray] = []

    def add(self, frame: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 frame."""
        if self.path.suffix.lower() == ".gif":
            self._gif_frames.append(frame)
        else:
            if self._writer is None:
                import imageio.v2 as imageio

                self._writer = imageio.get_writer(self.path, fps=self.fps, codec="libx264", quality=7,
                                                  macro_block_size=2, ffmpeg_log_level="error")
            self._writer.append_data(frame)
        self.frames_written += 1

    def close(self) -> Path:
        """Finish the file; returns its path."""
        if self._writer is not None:
            self._writer.close()
        elif self._gif_frames:
            import imageio.v2 as imageio

            imageio.mimsave(self.path, self._gif_frames, duration=1000 / self.fps, loop=0)
        return self.path
