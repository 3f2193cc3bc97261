"""tinyq fetches the pinned CMSIS-NN / ESP-NN itself (tinyq/build/libraries.py): from an archive
named by TINYQ_*_ARCHIVE (a path or a URL) or GitHub's archive of the pinned commit, into its cache,
the files' digest checked; nothing half-written is ever left. CI has no network: the archives are
built here from ../shared/vendor, served from file:// URLs and a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import io
import os
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from conftest import shared_file
from tinyq.build import libraries
from tinyq.errors import TinyqError
from tinyq.libraries import LIBRARIES

CMSIS, ESP = LIBRARIES["cmsis-nn"], LIBRARIES["esp-nn"]


def snapshot(lib):
    return shared_file("vendor", {"cmsis-nn": "cmsis-nn-99f736a6", "esp-nn": "esp-nn-d45b843"}[lib.name])


def make_tar(lib, path: Path, edit=None) -> Path:
    """A .tar.gz laid out as GitHub's archive of the commit: everything under <repo>-<commit>/."""
    top = f"{lib.repository.rsplit('/', 1)[1]}-{lib.commit}"
    root = snapshot(lib)
    with tarfile.open(path, "w:gz") as tar:
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = file.relative_to(root).as_posix()
            data = file.read_bytes()
            if edit and rel == edit:
                data += b"\n/* changed */\n"
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def make_zip(lib, path: Path) -> Path:
    root = snapshot(lib)
    with zipfile.ZipFile(path, "w") as z:
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            z.writestr(f"esp-nn-{lib.commit[:7]}/{file.relative_to(root).as_posix()}", file.read_bytes())
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache and no checkout: tinyq has to fetch."""
    monkeypatch.setenv("TINYQ_CACHE_DIR", str(tmp_path / "cache"))
    for lib in LIBRARIES.values():
        monkeypatch.delenv(lib.env, raising=False)
        monkeypatch.delenv(lib.archive_env, raising=False)
    return tmp_path / "cache"


def leftovers(cache: Path) -> list[str]:
    """Everything in the sources cache but the lock files."""
    where = cache / "sources"
    return sorted(p.name for p in where.iterdir() if not p.name.endswith(".lock")) if where.is_dir() else []


def test_the_snapshots_are_the_pins():
    for lib in LIBRARIES.values():
        assert libraries.tree_digest(snapshot(lib), lib.tree) == lib.tree_sha256, lib.name


def test_fetch_from_a_url_once_with_a_progress_line(cache, tmp_path, monkeypatch, capsys):
    archive = make_tar(CMSIS, tmp_path / "cmsis.tar.gz")
    monkeypatch.setenv(CMSIS.archive_env, archive.as_uri())
    assert not libraries.available("cmsis-nn")  # a URL: only a download would bring it
    root = libraries.library_dir("cmsis-nn")
    assert root == libraries.fetched_dir(CMSIS) and (root / CMSIS.probe).is_file()
    assert libraries.tree_digest(root, CMSIS.tree) == CMSIS.tree_sha256
    assert not (root / "README.md").exists()  # only the release's tree is kept
    err = capsys.readouterr().err
    assert f"tinyq: fetching cmsis-nn {CMSIS.version} from {archive.as_uri()}" in err and "MB, done" in err
    archive.unlink()  # the next use takes the cache
    assert libraries.library_dir("cmsis-nn") == root and libraries.available("cmsis-nn")
    assert capsys.readouterr().err == "" and leftovers(cache) == [root.name]


def test_an_offline_archive_file_and_a_zip(cache, tmp_path, monkeypatch):
    monkeypatch.setenv(ESP.archive_env, str(make_zip(ESP, tmp_path / "esp-nn.zip")))
    assert libraries.available("esp-nn")  # a file here: no download needed
    root = libraries.library_dir("esp-nn")
    assert (root / ESP.probe).is_file() and len(libraries.source_files("esp-nn", root)) == len(ESP.sources)


def test_a_wrong_archive_is_refused_and_nothing_is_kept(cache, tmp_path, monkeypatch):
    archive = make_tar(CMSIS, tmp_path / "changed.tar.gz", edit="Source/SoftmaxFunctions/arm_softmax_s8.c")
    monkeypatch.setenv(CMSIS.archive_env, str(archive))
    with pytest.raises(TinyqError, match=r"does not hold cmsis-nn .*sha256 is [0-9a-f]{16}\.\.\., the pin's is "
                                         + CMSIS.tree_sha256[:16]):
        libraries.library_dir("cmsis-nn")
    assert leftovers(cache) == []
    monkeypatch.setenv(CMSIS.archive_env, str(make_zip(ESP, tmp_path / "other.zip")))
    with pytest.raises(TinyqError, match="not an archive of cmsis-nn: no Include/arm_nnfunctions.h in it"):
        libraries.library_dir("cmsis-nn")
    assert leftovers(cache) == []


def test_a_truncated_file_is_refused_and_nothing_is_kept(cache, tmp_path, monkeypatch):
    whole = make_tar(CMSIS, tmp_path / "whole.tar.gz").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[:len(whole) // 2])
    monkeypatch.setenv(CMSIS.archive_env, cut.as_uri())
    with pytest.raises(TinyqError, match="is not a readable archive of cmsis-nn"):
        libraries.library_dir("cmsis-nn")
    assert leftovers(cache) == []


class _Interrupted(http.server.BaseHTTPRequestHandler):
    """Promises the whole archive, sends half of it, and hangs up."""

    body = b""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body[:len(self.body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_an_interrupted_download_leaves_nothing(cache, tmp_path, monkeypatch):
    _Interrupted.body = make_tar(CMSIS, tmp_path / "cmsis.tar.gz").read_bytes()
    server = http.server.HTTPServer(("127.0.0.1", 0), _Interrupted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/CMSIS-NN.tar.gz"
        monkeypatch.setenv(CMSIS.archive_env, url)
        with pytest.raises(TinyqError, match="fetching cmsis-nn .* failed"):
            libraries.library_dir("cmsis-nn")
    finally:
        server.shutdown()
        server.server_close()
    assert leftovers(cache) == []


def test_a_killed_fetch_is_cleaned_up_by_the_next(cache, tmp_path, monkeypatch):
    """A fetch killed mid-way leaves only its staging folder beside the cache, never the copy; the next
    fetch removes it."""
    staged = cache / "sources" / f".{libraries.fetched_dir(CMSIS).name}-killed"
    (staged / "tree" / "Include").mkdir(parents=True)
    assert not libraries.available("cmsis-nn")
    monkeypatch.setenv(CMSIS.archive_env, str(make_tar(CMSIS, tmp_path / "cmsis.tar.gz")))
    libraries.library_dir("cmsis-nn")
    assert leftovers(cache) == [libraries.fetched_dir(CMSIS).name]


def test_a_user_builds_with_cmsis_nn_without_a_checkout(cache, tmp_path):
    """tinyq verify --backend cmsis-nn with no checkout: it fetches the pin (here from a local file),
    says so on stderr, compiles it and runs the model."""
    model = shared_file("models", "mlperf-tiny", "ad_fc_autoencoder_int8.tflite")
    env = {**os.environ, CMSIS.archive_env: str(make_tar(CMSIS, tmp_path / "cmsis.tar.gz"))}
    run = subprocess.run([sys.executable, "-m", "tinyq", "verify", str(model), "--backend", "cmsis-nn",
                          "--inputs", "2"], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert f"tinyq: unpacking cmsis-nn {CMSIS.version} from {tmp_path / 'cmsis.tar.gz'}" in run.stderr
    assert (libraries.fetched_dir(CMSIS) / CMSIS.probe).is_file()


def test_a_wrong_archive_is_one_error_line(cache, tmp_path):
    archive = make_tar(CMSIS, tmp_path / "changed.tar.gz", edit="LICENSE")
    env = {**os.environ, CMSIS.archive_env: str(archive)}
    model = shared_file("models", "mlperf-tiny", "ad_fc_autoencoder_int8.tflite")
    run = subprocess.run([sys.executable, "-m", "tinyq", "verify", str(model), "--backend", "cmsis-nn",
                          "--inputs", "1"], capture_output=True, text=True, env=env)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and lines[-1].startswith(f"tinyq: error: {CMSIS.archive_env}: ") \
        and "Traceback" not in run.stderr, run.stderr
    assert leftovers(cache) == []
