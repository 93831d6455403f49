"""The core fonts (pipeline.fonts): what they hold, what they are called, that a character outside them
still prints from the whole face, and that documents are laid out with them exactly as without them."""
from __future__ import annotations

import json
import subprocess
import sys

from pipeline.fonts import CORE_FACES, FONTS, config_file, core_characters, whole_face
from pipeline.settings import PROJ_ROOT


def test_the_core_holds_gb2312_ascii_and_the_documents_punctuation_but_not_rare_characters():
    core = {chr(point) for point in core_characters()}
    assert len([c for c in core if "\u4e00" <= c <= "\u9fff"]) == 6763      # GB 2312's hanzi
    assert set("通报关于售后服务网点工程师满意率ABCxyz0123456789%") <= core
    assert set("〔〕《》、。，：；％（）—…·×") <= core
    assert not set("堃喆龑𠮷") & core


def test_the_core_fonts_are_built_with_names_of_their_own_and_every_core_character():
    from fontTools.ttLib import TTFont

    assert config_file() is not None, "data/fonts/ is built by make (make fonts)"
    points = set(core_characters())
    for whole, style, family, name in CORE_FACES:
        font = TTFont(FONTS / name, lazy=True)
        assert font["name"].getDebugName(1) == family and family == f"{whole} Core", name
        mapped = set(font.getBestCmap())
        # Every core character the whole face has (it lacks a few of the ranges' code points).
        whole_path, index = whole_face(whole, style)
        held = set(TTFont(whole_path, fontNumber=index, lazy=True).getBestCmap())
        assert points & held <= mapped, name
        assert len(mapped) < len(held) / 3, name


LAYOUT = r"""
import io, json, sys
sys.modules.setdefault("hypothesis", None)
import pdfplumber
from pipeline.documents.render import pdf_bytes
from pipeline.documents.charts import bar_chart
html = '''<!DOCTYPE html><html lang="zh-CN"><head><link rel="stylesheet" href="css/official.css"></head><body>
<h1 class="title">关于2026年11月份信息工作的通报</h1><h2>一、总体情况</h2><h3>（一）王堃的报送</h3>
<p>本月各单位共报送信息128篇，采用率37.5%，较上月提高2.1个百分点；李喆、王堃表现突出。</p>
<figure class="chart">SVG</figure>
<table><thead><tr><th>单位</th><th>报送数</th><th>采用率</th></tr></thead>
<tbody><tr><td>网点01</td><td>12</td><td>33.3%</td></tr><tr><td>堃喆分局</td><td>7</td><td>100.0%</td></tr></tbody></table>
</body></html>'''
svg = bar_chart("各单位准时率", ["网点01", "堃喆分局", "第三单位"], {"准时率": [0.37, 0.5, 0.9]}, percent=True)
from pipeline.documents import render
data = render._document(html.replace("SVG", svg)).write_pdf(font_config=render._font_config())
with pdfplumber.open(io.BytesIO(data)) as pdf:
    print(json.dumps([[(c["text"], c["fontname"].split("+")[1], round(c["x0"], 2), round(c["top"], 2))
                       for c in page.chars] for page in pdf.pages], ensure_ascii=False))
"""


def laid_out(environment: dict | None = None) -> list:
    done = subprocess.run([sys.executable, "-c", LAYOUT], cwd=PROJ_ROOT, capture_output=True, text=True,
                          timeout=300, env=environment)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_rare_character_prints_from_the_whole_face_and_the_layout_is_that_of_the_whole_faces():
    import os

    assert config_file() is not None, "data/fonts/ is built by make (make fonts)"
    with_core = laid_out()
    # A FONTCONFIG_FILE of the user's own is kept: with the system's alone, no core face is found.
    without = laid_out({**os.environ, "FONTCONFIG_FILE": "/etc/fonts/fonts.conf"})
    fonts = {(text, font) for page in with_core for text, font, *_ in page}
    assert ("王", "Noto-Serif-CJK-SC-Core") in fonts and ("网", "Noto-Sans-CJK-SC-Core") in fonts
    for rare in "堃喆":
        assert {font for text, font in fonts if text == rare} <= {"Noto-Serif-CJK-SC", "Noto-Sans-CJK-SC",
                                                                  "AR-PL-UKai-CN"}, rare
    assert all("Core" not in font for page in without for _, font, *_ in page)
    assert [[(text, x, top) for text, _, x, top in page] for page in with_core] == \
        [[(text, x, top) for text, _, x, top in page] for page in without]
