"""Writing a file so that no reader sees half of it and no link planted at its name is written through: shared by the
checkpoints (checkpoints.py) and the headless build's launcher."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

TEMPORARY_MARK = ".partial-"  # in the name of a file being written; only such files are cleaned up


def replace_through(path: str | os.PathLike, write: Callable[[Path], None], suffix: str = "", mode: int = 0o666) -> None:
    """Call `write` with a temporary file beside `path`, then rename that file over `path`: a reader sees the old file
    or the new one, never half of one, and a symbolic or hard link at `path` is replaced, not written through. The
    file gets `mode` less the umask. Temporary files that a killed writer left behind (`.<name>.partial-*`, no other)
    are removed first."""
    path = Path(path)
    for stray in path.parent.glob(f".{path.name}{TEMPORARY_MARK}*"):
        stray.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{TEMPORARY_MARK}", suffix=suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, mode & ~umask)  # mkstemp makes it private; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path: str | os.PathLike, data: bytes, mode: int = 0o666) -> None:
    """`data` into `path` by replace_through."""
    replace_through(path, lambda tmp: tmp.write_bytes(data), mode=mode)
