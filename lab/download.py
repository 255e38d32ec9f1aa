"""Find QuickDraw category files in a folder, or fetch them from Google's public bucket.

Downloads are resumable (a `.part` file continues with an HTTP Range request) and checksummed:
the bucket's MD5 (the `x-goog-hash` header) is checked when the server sends one, and the
file's SHA-256 is written beside it so a later run can tell a finished file from a broken one.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

from tqdm import tqdm

BUCKET = "https://storage.googleapis.com/quickdraw_dataset"
# Where each format lives in the bucket, and the file name it gets locally.
LAYOUT = {
    "sketchrnn": ("sketchrnn/{name}.npz", "{name}.npz"),
    "simplified": ("full/simplified/{name}.ndjson", "{name}.ndjson"),
    "raw": ("full/raw/{name}.ndjson", "{name}.raw.ndjson"),
}
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A file could not be fetched or did not match its checksum; the message says which."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def locate(
    category: str, source: str, cache: Path, fmt: str = "sketchrnn", progress: bool = True
) -> Path:
    """The local file of one category: found in the folder `source`, or downloaded into `cache`."""
    if fmt not in LAYOUT:
        raise ValueError(f"format must be one of {', '.join(LAYOUT)}; got {fmt!r}")
    remote, local = LAYOUT[fmt]
    if is_url(source):
        url = f"{source.rstrip('/')}/{remote.format(name=quote(category))}"
        return download(url, cache / local.format(name=category), progress=progress)
    folder = Path(source)
    names = [
        local.format(name=category),
        f"{category}.npz",
        f"{category}.ndjson",
        f"full_simplified_{category}.ndjson",
        f"sketchrnn_{category}.npz",
    ]
    for name in dict.fromkeys(names):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(
        f"no file for QuickDraw category '{category}' in {folder} "
        f"(looked for {', '.join(dict.fromkeys(names))})"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _bucket_md5(headers) -> str | None:
    """The object's MD5 (base64) from Google's `x-goog-hash: crc32c=...,md5=...` header."""
    for part in (headers.get("x-goog-hash") or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "md5" and value:
            return value
    return None


def download(url: str, dest: Path, progress: bool = True, timeout: float = 30.0) -> Path:
    """Fetch `url` to `dest`, resuming a partial download; verify and record its checksum."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    record = dest.with_name(dest.name + ".sha256")
    if dest.is_file() and record.is_file() and record.read_text().split()[0] == _sha256(dest):
        return dest
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    request = Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urlopen(request, timeout=timeout) as response:
            if have and response.status != 206:  # the server sent the whole file again
                have = 0
            total = have + int(response.headers.get("Content-Length") or 0)
            md5 = _bucket_md5(response.headers)
            with (
                part.open("ab" if have else "wb") as out,
                tqdm(
                    total=total or None,
                    initial=have,
                    unit="B",
                    unit_scale=True,
                    desc=dest.name,
                    disable=not progress,
                ) as bar,
            ):
                while block := response.read(CHUNK):
                    out.write(block)
                    bar.update(len(block))
    except HTTPError as e:
        if e.code == 416 and have:  # nothing left to fetch: the part file is complete
            md5 = None
        else:
            raise DownloadError(f"{url}: the server answered {e.code} {e.reason}") from None
    except (URLError, TimeoutError, OSError) as e:
        raise DownloadError(
            f"{url}: {getattr(e, 'reason', e)}; run the same command again to resume"
        ) from None
    if md5 is not None:
        got = base64.b64encode(hashlib.md5(part.read_bytes()).digest()).decode()
        if got != md5:
            part.unlink()
            raise DownloadError(
                f"{url}: the file's MD5 {got} is not the server's {md5}; "
                "the partial file was removed, run the command again"
            )
    part.replace(dest)
    record.write_text(f"{_sha256(dest)}  {dest.name}\n")
    return dest
