"""The documents' faces cut down to the characters they print nearly always, as fonts of their own.

Noto Serif CJK SC and Noto Sans CJK SC hold some 65,000 glyphs each. Whatever a PDF prints of them,
WeasyPrint subsets the whole font (keeping every glyph's place up to the last one used) and deflates
the result: for the after-sales bulletin ~0.1 s of its ~0.9 s, and half of its bytes. A font of the
8,000-odd characters of GB 2312, ASCII, Latin-1 and the punctuation the documents use gives the same
glyphs (the same outlines and advances: the characters are laid out alike) in a fraction of that.

`python -m pipeline.fonts` (run by make) builds them into data/fonts/ under names of their own
("Noto Serif CJK SC Core", …) with a fontconfig file that adds them to the system's fonts. The
stylesheets name the core face first and the whole one after it: a character outside the core (a
rare character in a name: 堃, 喆, 𠮷) is taken from the whole font, one character at a time, so
nothing prints as a blank box. Without data/fonts/ the documents are made with the whole fonts, as
before, only slower.

Only Python's own library here; fontTools is imported when the fonts are built.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from pipeline.settings import PROJ_ROOT

FONTS = PROJ_ROOT / "data" / "fonts"
CONFIG_NAME = "fonts.conf"
SYSTEM_CONFIG = "/etc/fonts/fonts.conf"
# (family and style of the whole face on the system, family of its core, file name)
CORE_FACES = (("Noto Serif CJK SC", "Regular", "Noto Serif CJK SC Core", "NotoSerifCJKscCore-Regular.otf"),
              ("Noto Serif CJK SC", "Bold", "Noto Serif CJK SC Core", "NotoSerifCJKscCore-Bold.otf"),
              ("Noto Sans CJK SC", "Regular", "Noto Sans CJK SC Core", "NotoSansCJKscCore-Regular.otf"))
# Besides GB 2312's characters: ASCII and Latin-1, general punctuation (—, …, ‰), enclosed and
# Roman numerals, CJK symbols and punctuation (〔〕《》、。), full-width forms (，：％).
CORE_RANGES = ((0x0020, 0x007E), (0x00A0, 0x00FF), (0x2000, 0x206F), (0x2150, 0x218F), (0x2460, 0x24FF),
               (0x3000, 0x303F), (0xFF00, 0xFFEF))


def core_characters() -> list[int]:
    """The code points the core fonts keep: GB 2312's characters and CORE_RANGES."""
    points = {point for first, last in CORE_RANGES for point in range(first, last + 1)}
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes([high, low]).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return sorted(points)


def config_file(folder: Path = FONTS) -> Path | None:
    """The fontconfig file that adds the core fonts to the system's, when they are built."""
    path = folder / CONFIG_NAME
    return path if path.is_file() else None


def use_core_fonts(folder: Path = FONTS) -> None:
    """Make fontconfig, when it starts in this process (and those it starts), find the core fonts too;
    a FONTCONFIG_FILE set by the user stays as it is."""
    path = config_file(folder)
    if path is not None and "FONTCONFIG_FILE" not in os.environ:
        os.environ["FONTCONFIG_FILE"] = str(path)


def whole_face(family: str, style: str) -> tuple[str, int]:
    """The file and the index in it of an installed face (fc-list)."""
    found = subprocess.run(["fc-list", "-f", "%{file}|%{index}|%{family}|%{style}\n", f":family={family}"],
                           capture_output=True, text=True, check=True)
    for line in sorted(found.stdout.splitlines()):
        path, index, families, styles = line.split("|")
        if family in families.split(",") and style in styles.split(","):
            return path, int(index)
    raise FileNotFoundError(f"{family} {style}")


def build_face(source: str, index: int, family: str, target: Path) -> Path:
    """The core of one face (core_characters, every layout feature kept), named `family`."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    # The whole face's metrics as they are (the core lays out alike) and its timestamp (same bytes).
    options.recalc_bounds = options.recalc_average_width = options.recalc_max_context = False
    options.prune_unicode_ranges = options.recalc_timestamp = False
    font = TTFont(source, fontNumber=index, recalcBBoxes=False, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=core_characters())
    subsetter.subset(font)
    style = font["name"].getDebugName(2) or "Regular"
    for record in font["name"].names:
        if record.nameID in (1, 16):
            record.string = family
        elif record.nameID == 4:
            record.string = f"{family} {style}" if style != "Regular" else family
        elif record.nameID == 6:
            record.string = f"{family.replace(' ', '')}-{style}"
    part = target.with_suffix(".part")
    font.save(part)
    part.replace(target)
    return target


def build(folder: Path = FONTS) -> Path:
    """Build the core fonts (those missing) and, last, the fontconfig file that makes them found."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = []
    for whole, style, family, name in CORE_FACES:
        if not (folder / name).is_file():
            jobs.append((*whole_face(whole, style), family, folder / name))
    if jobs:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1)) as pool:
            list(pool.map(build_face, *zip(*jobs)))
    # The fonts' hashes in the file: outputs made with other fonts are made again (reuse.code_fingerprint).
    made = "".join(f"  <!-- {name} sha256:{hashlib.sha256((folder / name).read_bytes()).hexdigest()} -->\n"
                   for *_, name in CORE_FACES)
    config = folder / CONFIG_NAME
    config.with_suffix(".part").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        "  <!-- The core fonts of pipeline/fonts.py, besides the system's own. -->\n" + made +
        f'  <include ignore_missing="yes">{SYSTEM_CONFIG}</include>\n  <dir>{folder.resolve()}</dir>\n</fontconfig>\n',
        encoding="utf-8")
    config.with_suffix(".part").replace(config)
    # fontconfig keeps what it found in the folder in its cache: no later run looks through the files.
    subprocess.run(["fc-cache", str(folder)], env={**os.environ, "FONTCONFIG_FILE": str(config)},
                   capture_output=True, check=False)
    return config


def main() -> int:
    if config_file() is not None and all((FONTS / name).is_file() for *_, name in CORE_FACES):
        return 0
    print("正在生成文档常用字字体（约半分钟，只做一次）……", file=sys.stderr)
    try:
        build()
    except Exception as error:         # the documents are still made, with the whole faces: no traceback
        print(f"未能生成常用字字体（{type(error).__name__}: {error}）；文档仍可生成，只是慢一些。", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
