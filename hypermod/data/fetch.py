"""Download a data set into the layout `find_dataset` searches, verifying every byte.

Each file is streamed into a hidden `.<file>.part` next to its destination, checked, and
only then renamed into place, so an interrupted or corrupted download never leaves a
file that looks complete. MNIST-style files are checked by the SHA-256 of their
*decompressed* content: mirrors recompress the files, so the gzip bytes differ between
them while the IDX content is canonical. CIFAR-10 exists as one archive, checked by the
MD5 its authors publish.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from hypermod.data.catalog import (
    CIFAR_ARCHIVE_DIR,
    DATASETS,
    DIRNAMES,
    IDX_FILES,
    IDX_SETS,
    missing_files,
    user_cache_dir,
)
from hypermod.data.errors import ChecksumError, CorruptDataError, DataError

# Base URLs; overridden by the `mirror` argument or $HYPERMOD_MIRROR_<NAME>.
MIRRORS: dict[str, str] = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "cifar10": "https://www.cs.toronto.edu/~kriz/",
}
# SHA-256 of each decompressed IDX file; None means unknown, and fetching then refuses.
# Fashion-MNIST's were computed from Debian's dataset-fashion-mnist package.
IDX_SHA256: dict[str, dict[str, str | None]] = {
    "mnist": {
        "train-images-idx3-ubyte": (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        "train-labels-idx1-ubyte": (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        "t10k-images-idx3-ubyte": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        "t10k-labels-idx1-ubyte": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": (
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
        ),
        "train-labels-idx1-ubyte": (
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
        ),
        "t10k-images-idx3-ubyte": (
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
        ),
        "t10k-labels-idx1-ubyte": (
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
        ),
    },
}
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR_MD5 = "c58f30108f718f92721af3b95e74349a"

TIMEOUT_S = 60.0  # per socket operation, not per file
_CHUNK = 1 << 20


def fetch_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    mirror: str | None = None,
    progress: bool = True,
) -> Path:
    """Download data set `name` into `<root>/<dataset dir>/` unless it is already there.

    Args:
        name: "mnist", "fashion-mnist" or "cifar10".
        root: the parent directory; by default the first entry of $HYPERMOD_DATA, else
            the user cache directory (both are search roots of `find_dataset`).
        mirror: base URL to download from; by default $HYPERMOD_MIRROR_<NAME> (NAME upper
            case, "-" as "_"), else the canonical source in MIRRORS.
        progress: draw a progress bar per file on stderr.

    Returns:
        `<root>/<dataset dir>`. For CIFAR-10 the batches are extracted into its
        cifar-10-batches-py/ subdirectory, the layout the official archive has.

    Raises:
        ValueError: unknown name, or "digits" (it ships with scikit-learn).
        ChecksumError: a download's digest differs from the published one.
        DataError: the URL could not be read, or no checksum is known for a file.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(DIRNAMES)}")
    if name not in DIRNAMES:
        raise ValueError(f"{name!r} ships with scikit-learn; there is nothing to fetch")
    destination = _default_root(root) / DIRNAMES[name]
    made = _missing_folders(destination)
    destination.mkdir(parents=True, exist_ok=True)
    base_url = mirror or os.environ.get(mirror_variable(name)) or MIRRORS[name]
    base_url = base_url.rstrip("/") + "/"
    try:
        if name in IDX_SETS:
            _fetch_idx_files(name, destination, base_url, progress)
        else:
            _fetch_cifar(destination, base_url, progress)
    except BaseException:
        # A failed fetch leaves no empty folder of its own making (~/.cache/hypermod/mnist);
        # one that holds a verified file is kept, so that a retry downloads only the rest.
        for folder in made:
            try:
                folder.rmdir()
            except OSError:
                break  # not empty: it, and the folders above it, hold something
        raise
    return destination


def _missing_folders(path: Path) -> list[Path]:
    """`path` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not path.exists() and path.parent != path:
        missing.append(path)
        path = path.parent
    return missing


def mirror_variable(name: str) -> str:
    """The environment variable that overrides `name`'s mirror, e.g. HYPERMOD_MIRROR_CIFAR10."""
    return "HYPERMOD_MIRROR_" + name.upper().replace("-", "_")


def _default_root(root: str | os.PathLike | None) -> Path:
    if root is not None:
        return Path(root).expanduser()
    entries = [entry for entry in os.environ.get("HYPERMOD_DATA", "").split(os.pathsep) if entry]
    return Path(entries[0]).expanduser() if entries else user_cache_dir()


def _fetch_idx_files(name: str, destination: Path, base_url: str, progress: bool) -> None:
    """Download each `<file>.gz` of an MNIST-style set that is not already present and valid."""
    checksums = IDX_SHA256[name]
    unknown = [file for file in IDX_FILES if checksums.get(file) is None]
    if unknown:
        # Refuse rather than skip verification: an unchecked download is worse than none.
        raise DataError(
            f"no SHA-256 is recorded for {name} file(s) {', '.join(unknown)}, so they cannot be "
            "verified; refusing to download. Install the files by hand instead."
        )
    for file in IDX_FILES:
        expected = checksums[file]
        raw, packed = destination / file, destination / f"{file}.gz"
        if raw.is_file():
            # find_dataset prefers a raw file over the .gz, so a bad one would shadow ours.
            actual = _sha256(raw)
            if actual != expected:
                raise ChecksumError(
                    f"{raw} is already present but its SHA-256 is {actual}, expected "
                    f"{expected}; delete it and fetch again"
                )
            continue
        if packed.is_file() and _gunzip_sha256_or_none(packed) == expected:
            continue
        url = base_url + packed.name
        part = destination / f".{packed.name}.part"
        try:
            _download(url, part, progress)
            actual = _gunzip_sha256(part, url)
            if actual != expected:
                raise ChecksumError(
                    f"{url}: SHA-256 of the decompressed {file} is {actual}, expected {expected}"
                )
            os.replace(part, packed)
        finally:
            part.unlink(missing_ok=True)


def _fetch_cifar(destination: Path, base_url: str, progress: bool) -> None:
    """Download and extract the CIFAR-10 archive unless a complete copy is already there."""
    if not missing_files("cifar10", destination) or not missing_files(
        "cifar10", destination / CIFAR_ARCHIVE_DIR
    ):
        return
    url = base_url + CIFAR_ARCHIVE
    part = destination / f".{CIFAR_ARCHIVE}.part"
    try:
        _download(url, part, progress)
        actual = _md5(part)
        if actual != CIFAR_MD5:
            raise ChecksumError(f"{url}: MD5 of {CIFAR_ARCHIVE} is {actual}, expected {CIFAR_MD5}")
        _extract_cifar(part, url, destination)
    finally:
        part.unlink(missing_ok=True)


def _download(url: str, target: Path, progress: bool) -> None:
    """Stream `url` into `target` in chunks, raising DataError naming the URL on failure."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            with (
                target.open("wb") as out,
                tqdm(
                    total=int(length) if length else None,
                    desc=PurePosixPath(url).name,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    file=sys.stderr,
                    disable=not progress,
                ) as bar,
            ):
                received = 0
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            # read(n) returns b"" when the server hangs up early, rather than raising.
            if length is not None and received < int(length):
                raise DataError(f"could not download {url}: the transfer was interrupted "
                                f"after {received:,} of {int(length):,} bytes")
    except urllib.error.HTTPError as err:
        err.close()  # the error holds the response body open
        raise DataError(f"could not download {url}: HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise DataError(f"could not download {url}: {err.reason}") from err
    except (OSError, http.client.HTTPException) as err:  # timeouts, resets, short bodies
        raise DataError(f"could not download {url}: {err!r}") from err


def _extract_cifar(archive: Path, url: str, destination: Path) -> None:
    """Unpack cifar-10-batches-py/ from `archive` into `destination`, refusing unsafe members.

    Extraction goes to a scratch directory first and is then renamed into place, so a
    failure part-way never leaves a half-filled cifar-10-batches-py/.
    """
    scratch = Path(tempfile.mkdtemp(prefix=".extract-", dir=destination))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
                    tar.extractall(scratch, filter="data")
                else:
                    tar.extractall(scratch, members=_checked_members(tar, url))
        except (tarfile.TarError, EOFError, zlib.error) as err:  # FilterError is a TarError
            raise CorruptDataError(f"{url}: cannot extract {CIFAR_ARCHIVE} ({err})") from err
        extracted, target = scratch / CIFAR_ARCHIVE_DIR, destination / CIFAR_ARCHIVE_DIR
        if missing_files("cifar10", extracted):
            raise CorruptDataError(
                f"{url}: archive lacks {CIFAR_ARCHIVE_DIR}/ with "
                f"{', '.join(missing_files('cifar10', extracted))}"
            )
        try:
            os.replace(extracted, target)
        except OSError as err:
            raise DataError(
                f"cannot move the extracted batches to {target} ({err}); remove it and fetch again"
            ) from err
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _checked_members(tar: tarfile.TarFile, url: str) -> list[tarfile.TarInfo]:
    """All members of `tar`, after refusing any that could write outside the target.

    Used only on Pythons whose tarfile lacks extraction filters: rejects absolute paths,
    ".." components, links and device files.
    """
    members = tar.getmembers()
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
            raise CorruptDataError(f"{url}: refusing unsafe archive member {member.name!r}")
    return members


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _md5(path: Path) -> str:
    # MD5 only because it is the digest CIFAR-10's authors publish; not for security.
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _gunzip_sha256(path: Path, label: str) -> str:
    """SHA-256 of `path`'s decompressed content; CorruptDataError naming `label` if not gzip."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as file:
            while chunk := file.read(_CHUNK):
                digest.update(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise CorruptDataError(f"{label}: not a valid gzip stream ({err})") from err
    return digest.hexdigest()


def _gunzip_sha256_or_none(path: Path) -> str | None:
    """As `_gunzip_sha256`, but None for a broken file, which is then downloaded again."""
    try:
        return _gunzip_sha256(path, str(path))
    except CorruptDataError:
        return None
