"""docs/: a picture of page 1 of every kind of document the sample inbox gives, for the README.

`make docs` runs the sample into a scratch folder and turns each PDF's first page into a PNG with
pdftoppm. The assessments are made as of a fixed day, so the pictures do not change with the date.
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline.__main__ import main as run
from pipeline.evaluation import run_evaluation
from pipeline.monthly import render_documents
from pipeline.rules.periods import year
from pipeline.settings import DEFAULT_INBOX, PROJ_ROOT, programmes_in
from pipeline.store import Store

AS_OF = dt.datetime(2027, 1, 31)
PICTURES = {
    "correspondents-通报.png": "correspondents/2026-11/通报.pdf",
    "after-sales-通报.png": "after-sales/2026-11/通报.pdf",
    "teaching-通报.png": "teaching/2026-11/通报.pdf",
    "community-通报.png": "community/2026-11/通报.pdf",
    "class-officers-通报.png": "class-officers/2026-11/通报.pdf",
    "correspondents-考核评优.png": "correspondents/2026/考核评优.pdf",
    "after-sales-对账单.png": "after-sales/daily/2026-11-04/对账单.pdf",
    "teaching-聘任证书.png": "teaching/2026-09/聘任证书.pdf",
}


def main(argv: list[str]) -> int:
    target = PROJ_ROOT / (argv[0] if argv else "docs")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        out, store = Path(scratch) / "out", Path(scratch) / "store.sqlite"
        common = ["--inbox", str(DEFAULT_INBOX), "--out", str(out), "--store", str(store),
                  "--settings", str(Path(scratch) / "none.toml")]
        run(["monthly", "--period", "2026-11", *common])
        run(["daily", "--date", "2026-11-04", *common])
        run(["certificates", "--period", "2026-09", *common])
        with Store(store) as opened:
            runs = [run_evaluation(opened, DEFAULT_INBOX, out, programme, year("2026"), False, AS_OF)
                    for programme in programmes_in(DEFAULT_INBOX, {}) if programme.preset != "after-sales"]
        render_documents(runs)
        for picture, pdf in PICTURES.items():
            subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", str(out / pdf),
                            str(target / picture.removesuffix(".png"))], check=True)
    print(f"已生成 {len(PICTURES)} 张示例图片：{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
