"""Writing output files safely: to a temporary name in the same folder, then renamed into place,
so that nobody ever finds (or forwards) a half-written file."""
from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from pathlib import Path

from pipeline import failpoints

# A fixed time for every zip entry, so the same content gives the same bytes.
ZIP_TIME = (2000, 1, 1, 0, 0, 0)
# openpyxl stamps the save time into the workbook's properties; the same content must not differ.
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


TEMPORARY = ".*.part"          # the names write_atomically writes under before the rename


def remove_leftovers(folder: Path) -> None:
    """Temporary files a killed run left under `folder` (never a finished output)."""
    if folder.is_dir():
        for leftover in folder.rglob(TEMPORARY):
            leftover.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file and a rename; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        failpoints.reached("output")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def stable_zip(data: bytes) -> bytes:
    """The same zip archive with fixed entry times and no save time inside, so equal content gives equal bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _MODIFIED.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", content)
            target.writestr(entry, content)
    return out.getvalue()
