"""Output folders and files: tinyq never deletes what it did not write, never leaves half an output.

Through the real command line: a non-empty folder is refused unless it holds a previous tinyq
output and --force is given, and then only the files its marker lists are replaced or removed;
`-o .` and ancestors of the current folder are safe; modes follow the umask; read-only folders,
read-only file systems, /proc, a file on the path and a full disk are one-line errors that leave
the old output as it was.

These tests usually run as root, who ignores permission bits. What makes a folder really
read-only for root here: `chattr +i` (EPERM even for root, ext4), a read-only bind mount in a
private mount namespace (`unshare -m`, EROFS), or dropping CAP_DAC_OVERRIDE from the tinyq
process (`setpriv`), after which mode 0555 is honoured. Each is checked to work before a test
relies on it; without it the test skips and says why.
"""

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyq.cli import main
from tinyq.codegen.output import MARKER, write_output_dir, write_output_file
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

TINYQ = Path(sys.executable).with_name("tinyq")
DROP_DAC = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search", "--"]


def fc_model(folder: Path, name: str = "tiny_fc", depth: int = 8) -> Path:
    rng = np.random.default_rng(0)
    b = GraphBuilder(name)
    x = b.input((1, depth), scale=0.1, zero_point=1)
    w = b.const(rng.integers(-127, 128, size=(4, depth)), "int8", scale=[0.01], zero_point=[0])
    y = b.activation((1, 4), scale=0.2, zero_point=-3)
    b.op("fully_connected", [x, w, -1], [y])
    path = folder / f"{name}.tflite"
    path.write_bytes(write_model(b.build([y])))
    return path


@pytest.fixture
def model(tmp_path):
    return fc_model(tmp_path)


def tinyq(*args, cwd=None, prefix=(), umask=None):
    return subprocess.run([*prefix, str(TINYQ), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under `root`: folders as 'dir', files by their content's hash."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = "dir" if path.is_dir() and not path.is_symlink() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def one_error_line(run) -> str:
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert run.stdout == "" and "Traceback" not in run.stderr
    assert run.stderr.startswith("tinyq: error: ") and run.stderr.count("\n") == 1, run.stderr
    return run.stderr.strip()


def marker_files(folder: Path) -> set[str]:
    return set(json.loads((folder / MARKER).read_text())["files"])


# --- never deleting the user's files --------------------------------------------------------------

def test_generate_into_a_folder_with_user_files_is_refused(tmp_path, model):
    out = tmp_path / "out"
    (out / "src").mkdir(parents=True)
    (out / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    before = snapshot(out)
    for extra in ([], ["--force"]):  # --force needs a tinyq marker: this folder has none
        line = one_error_line(tinyq("generate", model, "-o", out, *extra))
        assert f"{out}: the folder is not empty and holds no tinyq output" in line
    assert snapshot(out) == before


def test_force_replaces_only_the_files_tinyq_wrote(tmp_path, model):
    out = tmp_path / "out"
    assert tinyq("generate", model, "-o", out).returncode == 0
    first = marker_files(out)
    assert "tiny_fc_model.c" in first and MARKER in first
    (out / "notes.txt").write_text("mine")
    (out / "tiny_fc_model.c").write_text("edited")  # tinyq's file: --force replaces it
    line = one_error_line(tinyq("generate", model, "-o", out))  # without --force: refused, nothing touched
    assert "holds a previous tinyq output (add --force" in line
    assert (out / "tiny_fc_model.c").read_text() == "edited"
    run = tinyq("generate", model, "-o", out, "--force", "--name", "other")
    assert run.returncode == 0, run.stderr
    names = {p.name for p in out.iterdir()}
    assert not any(n.startswith("tiny_fc_model") for n in names)  # the previous output's own files went
    assert {"other_model.c", "other_model.h", "notes.txt", MARKER} <= names
    assert (out / "notes.txt").read_text() == "mine"
    assert marker_files(out) == {p.name for p in out.iterdir()} - {"notes.txt"}
    assert not [n for n in names if n.startswith(".")]  # no staging or temporary files left


def test_force_refuses_to_overwrite_a_file_tinyq_did_not_write(tmp_path, model):
    out = tmp_path / "out"
    assert tinyq("generate", model, "-o", out).returncode == 0
    (out / "other_model.c").write_text("the user's own other_model.c")
    before = snapshot(out)
    line = one_error_line(tinyq("generate", model, "-o", out, "--force", "--name", "other"))
    assert "would overwrite other_model.c, which tinyq did not write" in line
    assert snapshot(out) == before


def test_board_project_then_host_output_keeps_user_files_in_subfolders(tmp_path, model):
    out = tmp_path / "proj"
    assert tinyq("generate", model, "-o", out, "--board", "qemu-m0").returncode == 0
    assert {"model", "firmware", "tinyq-project.json", MARKER} <= {p.name for p in out.iterdir()}
    (out / "firmware" / "my_notes.txt").write_text("keep me")
    run = tinyq("generate", model, "-o", out, "--force")  # now host sources only
    assert run.returncode == 0, run.stderr
    assert not (out / "model").exists() and not (out / "tinyq-project.json").exists()
    assert [p.name for p in (out / "firmware").iterdir()] == ["my_notes.txt"]
    assert "firmware" not in json.loads((out / MARKER).read_text())["dirs"]


def test_unsafe_markers_are_refused(tmp_path, model):
    out = tmp_path / "out"
    assert tinyq("generate", model, "-o", out).returncode == 0
    data = json.loads((out / MARKER).read_text())
    (tmp_path / "victim.txt").write_text("outside")
    (out / MARKER).write_text(json.dumps({**data, "files": data["files"] + ["../victim.txt"]}))
    assert "lists a path outside the folder" in one_error_line(tinyq("generate", model, "-o", out, "--force"))
    (out / MARKER).write_text("{not json")
    assert "is unreadable" in one_error_line(tinyq("generate", model, "-o", out, "--force"))
    assert (tmp_path / "victim.txt").read_text() == "outside"


def test_a_symlinked_subfolder_is_not_written_through(tmp_path, model):
    out, elsewhere = tmp_path / "proj", tmp_path / "elsewhere"
    assert tinyq("generate", model, "-o", out, "--board", "qemu-m0").returncode == 0
    shutil.copytree(out / "model", elsewhere)
    shutil.rmtree(out / "model")
    (out / "model").symlink_to(elsewhere)
    before = snapshot(elsewhere)
    line = one_error_line(tinyq("generate", model, "-o", out, "--board", "qemu-m0", "--force"))
    assert "model is a symbolic link where tinyq writes a folder" in line
    assert snapshot(elsewhere) == before


# --- the current folder and its ancestors -----------------------------------------------------------

def test_output_dot_is_safe(tmp_path, model):
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.c").write_text("user code")
    line = one_error_line(tinyq("generate", model, "-o", ".", cwd=work))
    assert f"{work}: the folder is not empty" in line
    (work / "keep.c").unlink()
    inode = work.stat().st_ino
    assert tinyq("generate", model, "-o", ".", cwd=work).returncode == 0  # an empty current folder: fine
    assert work.stat().st_ino == inode and (work / "tiny_fc_model.c").is_file()  # written into, not replaced
    (work / "keep.c").write_text("user code")
    run = tinyq("generate", model, "-o", ".", "--force", "--name", "again", cwd=work)
    assert run.returncode == 0, run.stderr
    assert work.stat().st_ino == inode
    assert (work / "keep.c").read_text() == "user code" and (work / "again_model.c").is_file()
    assert not (work / "tiny_fc_model.c").exists()


def test_ancestors_of_the_current_folder_are_safe(tmp_path, model):
    out = tmp_path / "out"
    assert tinyq("generate", model, "-o", out).returncode == 0
    cwd = out / "mine"
    cwd.mkdir()
    (cwd / "data.txt").write_text("mine")
    before = snapshot(tmp_path)
    for target in ("../..", "/"):  # no marker: refused, with or without --force
        one_error_line(tinyq("generate", model, "-o", target, "--force", cwd=cwd))
    assert snapshot(tmp_path) == before
    run = tinyq("generate", model, "-o", "..", "--force", "--name", "up", cwd=cwd)  # its own output: ok
    assert run.returncode == 0, run.stderr
    assert (cwd / "data.txt").read_text() == "mine" and (out / "up_model.c").is_file()


# --- modes ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_modes_follow_the_umask(tmp_path, model, umask):
    project, empty = tmp_path / "proj", tmp_path / "empty"
    empty.mkdir()
    assert tinyq("generate", model, "-o", project, "--board", "qemu-m0", umask=umask).returncode == 0
    assert tinyq("generate", model, "-o", empty, umask=umask).returncode == 0  # moved into an existing folder
    assert tinyq("generate", model, "-o", empty, "--force", "--name", "b", umask=umask).returncode == 0
    paths = [project, *project.rglob("*"), *empty.rglob("*")]
    assert len(paths) > 20
    for path in paths:
        want = (0o777 if path.is_dir() else 0o666) & ~umask
        assert stat.S_IMODE(path.stat().st_mode) == want, (path, oct(path.stat().st_mode))


def test_single_output_file_mode_and_replacement(tmp_path):
    target = tmp_path / "sub" / "x.bin"
    old = os.umask(0o027)
    try:
        write_output_file(target, b"first")
        write_output_file(target, b"second")
    finally:
        os.umask(old)
    assert target.read_bytes() == b"second" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o750
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub", "x.bin"]


# --- read-only folders, read-only file systems, /proc, files on the path --------------------------------

@pytest.fixture
def immutable(tmp_path):
    """Make folders immutable with chattr +i (refused even to root); undone afterwards."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    made = []

    def make(folder: Path) -> Path:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not permitted here (not root, or the file system has no immutable flag)")
        made.append(folder)
        with pytest.raises(PermissionError):  # the setup must really forbid writing
            (folder / "probe").write_text("x")
        return folder

    yield make
    for folder in made:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_immutable_parent_and_target(tmp_path, model, immutable, capsys):
    parent = tmp_path / "locked"
    parent.mkdir()
    immutable(parent)
    # the error names what cannot be created: the output, or the first missing folder above it
    for out, named in ((parent / "out", parent / "out"), (parent / "deeper" / "out", parent / "deeper")):
        with pytest.raises(SystemExit) as exc:
            main(["generate", str(model), "-o", str(out)])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1, err
        assert err.startswith(f"tinyq: error: {named}: operation not permitted (")
    with pytest.raises(SystemExit):
        main(["generate", str(model), "-o", str(parent)])  # the folder itself (empty, immutable)
    assert f"tinyq: error: {parent}: operation not permitted" in capsys.readouterr().err
    assert list(parent.iterdir()) == []


def permission_bits_honoured(tmp_path) -> list[str]:
    """The command prefix under which a process honours mode bits (root: setpriv dropping CAP_DAC_OVERRIDE)."""
    prefix = [] if os.geteuid() != 0 else DROP_DAC
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: root ignores permission bits")
    probe = tmp_path / "probe-ro"
    probe.mkdir()
    probe.chmod(0o555)
    run = subprocess.run([*prefix, "sh", "-c", f"touch '{probe}/x'"], capture_output=True)
    probe.chmod(0o755)
    if run.returncode == 0:
        pytest.skip("could not make a folder read-only for a test process here")
    probe.rmdir()
    return prefix


def test_read_only_parent_and_target_by_permission_bits(tmp_path, model):
    prefix = permission_bits_honoured(tmp_path)
    parent, target = tmp_path / "ro-parent", tmp_path / "ro-target"
    for folder in (parent, target):
        folder.mkdir()
        folder.chmod(0o555)
    try:
        line = one_error_line(tinyq("generate", model, "-o", parent / "out", prefix=prefix))
        assert line.startswith(f"tinyq: error: {parent / 'out'}: permission denied (")
        line = one_error_line(tinyq("generate", model, "-o", target, prefix=prefix))
        assert line.startswith(f"tinyq: error: {target}: permission denied (")
        line = one_error_line(tinyq("quantize", model, "--calib", "x.npy", "-o", parent / "q.tflite", prefix=prefix))
        assert line.startswith(f"tinyq: error: {parent / 'q.tflite'}: permission denied (")
    finally:
        for folder in (parent, target):
            folder.chmod(0o755)
    assert list(parent.iterdir()) == [] and list(target.iterdir()) == []


def in_mount_namespace(script: str, *args) -> subprocess.CompletedProcess:
    """Run `script` (sh) with `args` as $1... in a private mount namespace; skip if that is not allowed."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    check = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True)
    if check.returncode != 0:
        pytest.skip(f"no private mount namespace here: {check.stderr.decode().strip()}")
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *map(str, args)], capture_output=True,
                          text=True)


def test_read_only_file_system(tmp_path, model):
    folder = tmp_path / "rofs"
    folder.mkdir()
    run = in_mount_namespace('mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"',
                             folder, TINYQ, "generate", model, "-o", folder / "out")
    line = one_error_line(run)
    assert line == (f"tinyq: error: {folder / 'out'}: read-only file system "
                    "(choose a folder on a writable file system)")
    assert list(folder.iterdir()) == []


def test_full_disk_keeps_the_previous_output(tmp_path):
    """On a 64 KB tmpfs: a small model's output fits; a big one's does not, and the small one stays."""
    small, big = fc_model(tmp_path, "small"), fc_model(tmp_path, "big", depth=40_000)
    disk = tmp_path / "disk"
    disk.mkdir()
    listing = 'find "$1" -type f -exec sha256sum {} + | sed "s|$1/||" | sort'
    run = in_mount_namespace(
        f'mount -t tmpfs -o size=64k tmpfs "$1" && "$2" generate "$3" -o "$1/out" >/dev/null && {listing} && '
        f'echo === && "$2" generate "$4" -o "$1/out" --force --name small; echo "exit $?"; echo ===; {listing}',
        disk, TINYQ, small, big)
    before, after_run, after = run.stdout.split("===\n")
    assert "small_model.c" in before and MARKER in before
    assert after_run.strip() == "exit 2", run.stderr
    assert run.stderr.startswith(f"tinyq: error: {disk / 'out'}: no space left on the device (")
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert after == before  # every old file as it was, and nothing else (no staging folder)


def test_proc_and_files_on_the_path(tmp_path, model):
    line = one_error_line(tinyq("generate", model, "-o", "/proc/tinyq-test-output"))
    assert line == ("tinyq: error: /proc/tinyq-test-output: cannot be created: this file system takes no new "
                    "files (choose a path on an ordinary disk)")
    line = one_error_line(tinyq("generate", model, "-o", model / "out"))
    assert line == f"tinyq: error: {model}: a file is where a folder is expected (choose another -o path)"
    line = one_error_line(tinyq("quantize", model, "--calib", "x.npy", "-o", "/proc/q.tflite"))
    assert "/proc/q.tflite: cannot be created" in line  # refused before the calibration data is even read


def test_outputs_checked_before_the_work(tmp_path, model):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file.txt").write_text("x")
    line = one_error_line(tinyq("demo", "-o", busy))
    assert f"{busy}: the folder is not empty and holds no tinyq output" in line
    line = one_error_line(tinyq("bench", "--port", "socket://127.0.0.1:9", "--model", model,
                                "--json-file", "/proc/report.json"))
    assert "/proc/report.json: cannot be created" in line  # not a connection error: checked first


# --- the library calls ------------------------------------------------------------------------------

def test_a_failure_while_writing_leaves_nothing(tmp_path):
    out = tmp_path / "new" / "out"
    with pytest.raises(TypeError):
        write_output_dir(out, {"a.c": "int a;", "b.c": 42})  # a bug in a caller: content of the wrong type
    assert list(tmp_path.iterdir()) == []  # not even the parent it created


def test_quantize_output_replaced_whole(tmp_path):
    rng = np.random.default_rng(8)
    b = GraphBuilder("mlp")
    x = b.input((1, 4), "float32", name="features")
    w = b.const(rng.normal(size=(3, 4)).astype(np.float32))
    y = b.activation((1, 3), "float32")
    b.op("fully_connected", [x, w, b.const(np.zeros(3, np.float32))], [y])
    model = tmp_path / "mlp.tflite"
    model.write_bytes(write_model(b.build([y])))
    np.save(tmp_path / "calib.npy", rng.normal(size=(16, 4)).astype(np.float32))
    out = tmp_path / "q.tflite"
    out.write_bytes(b"an older model")
    main(["quantize", str(model), "--calib", str(tmp_path / "calib.npy"), "-o", str(out)])
    assert out.read_bytes()[4:8] == b"TFL3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calib.npy", "mlp.tflite", "q.tflite"]


def test_write_output_dir_refuses_like_the_cli(tmp_path):
    (tmp_path / "user.txt").write_text("x")
    with pytest.raises(TinyqError, match="not empty and holds no tinyq output"):
        write_output_dir(tmp_path, {"a.c": "int a;"}, force=True)
