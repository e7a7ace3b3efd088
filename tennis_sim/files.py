"""Writing a file so that no reader sees half of it and no link planted at its name is written through: shared by the
checkpoints (checkpoints.py) and the headless build's launcher."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMPORARY_MARK = ".partial-"  # in the name of a file being written; only such files are cleaned up


def write_atomically(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Replace `path` with `data` so that a reader sees the old file or the new one, never half of one; a symbolic or
    hard link at `path` is replaced, not written through. Temporary files that a killed writer left behind
    (`.<name>.partial-*`, no other) are removed first; the file gets `mode` less the umask."""
    path = Path(path)
    for stray in path.parent.glob(f".{path.name}{TEMPORARY_MARK}*"):
        stray.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{TEMPORARY_MARK}")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, mode & ~umask)  # mkstemp makes it private; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
