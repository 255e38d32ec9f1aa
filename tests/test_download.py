"""QuickDraw files: found in a folder, or downloaded from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lab.data import PreparedData
from lab.download import DownloadError, download, locate
from lab.prepare import main as prepare_main

from .sketches import circle, square


def sketchrnn_npz(path: Path) -> bytes:
    """A small Sketch-RNN .npz (object arrays, as Google's files are) and its bytes."""

    def s3(poly: np.ndarray) -> np.ndarray:
        d = np.diff(np.vstack([[0, 0], poly.round()]), axis=0)
        return np.column_stack([d, np.r_[np.zeros(len(d) - 1), 1]]).astype(np.int16)

    sketches = np.empty(9, dtype=object)
    for i in range(9):
        sketches[i] = s3(circle(r=50 + 5 * i) if i % 2 else square(side=100 + 5 * i))
    np.savez(path, train=sketches[:5], valid=sketches[5:7], test=sketches[7:])
    return path.read_bytes()


class Bucket(http.server.BaseHTTPRequestHandler):
    """Serves files like Google's bucket: Range requests and an x-goog-hash MD5 header."""

    files: dict[str, bytes] = {}
    seen: list[dict[str, str]] = []
    corrupt = False

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self.seen.append({"path": self.path, "range": self.headers.get("Range", "")})
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
        payload = body[start:]
        if self.corrupt:
            payload = payload[:-1] + bytes([payload[-1] ^ 1])
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-goog-hash", f"crc32c=AAAAAA==,md5={md5}")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def bucket(tmp_path: Path) -> Iterator[str]:
    Bucket.files = {
        "/sketchrnn/cat.npz": sketchrnn_npz(tmp_path / "cat.npz"),
        "/sketchrnn/smiley%20face.npz": sketchrnn_npz(tmp_path / "smiley.npz"),
    }
    Bucket.seen, Bucket.corrupt = [], False
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bucket)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_writes_the_file_and_its_checksum(bucket, tmp_path):
    """A fresh download lands whole, with a .sha256 record; a second call fetches nothing."""
    path = locate("cat", bucket, tmp_path / "cache", progress=False)
    assert path.read_bytes() == Bucket.files["/sketchrnn/cat.npz"]
    assert (
        path.with_name("cat.npz.sha256").read_text().split()[0]
        == hashlib.sha256(path.read_bytes()).hexdigest()
    )
    locate("cat", bucket, tmp_path / "cache", progress=False)
    assert len(Bucket.seen) == 1


def test_download_resumes_a_partial_file(bucket, tmp_path):
    """An interrupted download continues from its .part file with a Range request."""
    body = Bucket.files["/sketchrnn/cat.npz"]
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "cat.npz.part").write_bytes(body[:1000])
    path = locate("cat", bucket, cache, progress=False)
    assert path.read_bytes() == body
    assert Bucket.seen == [{"path": "/sketchrnn/cat.npz", "range": "bytes=1000-"}]


def test_a_corrupt_download_is_refused_and_removed(bucket, tmp_path):
    """A file whose MD5 is not the server's raises DownloadError and leaves nothing behind."""
    Bucket.corrupt = True
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="MD5"):
        download(f"{bucket}/sketchrnn/cat.npz", cache / "cat.npz", progress=False)
    assert list(cache.iterdir()) == []


def test_missing_category_is_named(bucket, tmp_path):
    """A 404 and a category missing from a folder both say which file was wanted."""
    with pytest.raises(DownloadError, match="answered 404"):
        locate("dragon", bucket, tmp_path, progress=False)
    with pytest.raises(FileNotFoundError, match="no file for QuickDraw category 'dragon'"):
        locate("dragon", str(tmp_path), tmp_path)


def test_prepare_quickdraw_from_url_and_from_folder(bucket, tmp_path):
    """--quickdraw reads categories from a URL (downloading) or a folder, keeping their splits."""
    out = tmp_path / "qd.npz"
    assert (
        prepare_main(
            [
                "--out",
                str(out),
                "--quiet",
                "--quickdraw",
                "cat",
                "smiley face",
                "--from",
                bucket,
                "--cache",
                str(tmp_path / "cache"),
            ]
        )
        == 0
    )
    data = PreparedData.load(out)
    assert data.vocab.values["category"] == ("cat", "smiley face")
    assert [len(data.indices(s)) for s in ("train", "valid", "test")] == [10, 4, 4]
    again = tmp_path / "again.npz"
    assert (
        prepare_main(
            [
                "--out",
                str(again),
                "--quiet",
                "--quickdraw",
                "cat",
                "--from",
                str(tmp_path / "cache"),
            ]
        )
        == 0
    )
    assert len(PreparedData.load(again)) == 9
