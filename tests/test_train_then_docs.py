"""A user's own `make train` leaves the committed results alone, so the docs check still passes after it: a short
`make train` in a scratch copy of the repository, then tests/test_docs_numbers.py in that copy."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHORT = dict(TENNIS_EPISODES="400", TENNIS_CHECK_EVERY="0", TENNIS_EVAL_EPISODES="10")  # make train, in seconds


def tracked_copy(target: Path) -> Path:
    """The repository's tracked files as they are now, with this project's environment linked in."""
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in names)):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    (target / ".venv").symlink_to(Path(sys.prefix))
    return target


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_make_train_then_the_docs_check_passes(tmp_path):
    clone = tracked_copy(tmp_path / "clone")
    results, notebook = snapshot(clone / "results"), (clone / "Tennis.ipynb").stat().st_ino
    env = dict(os.environ, **SHORT)
    env.pop("TENNIS_OUTPUT_DIR", None)  # make test sets it; a user's make train writes into the repository
    train = subprocess.run(["make", "-o", ".venv/.installed-requirements", "train"], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    assert (clone / "runs" / "train.json").is_file() and (clone / "image" / "training_curve.png").is_file()
    # the executed notebook replaces Tennis.ipynb only once it has run through (a kill mid-save cannot empty it)
    assert not (clone / "runs" / "Tennis.ipynb.partial").exists()
    assert (clone / "Tennis.ipynb").stat().st_ino != notebook  # moved over it, not written into it
    assert (clone / "Tennis.ipynb").read_bytes() != (ROOT / "Tennis.ipynb").read_bytes()
    assert snapshot(clone / "results") == results, "make train changed the committed results/"
    docs = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_docs_numbers.py"],
                          cwd=clone, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert docs.returncode == 0, docs.stdout[-3000:]
