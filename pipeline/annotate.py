"""The clerk's own .xlsx/.xlsm with each bad cell filled red and the message as its comment, made by
editing the few XML parts that change (styles, the sheets with problems, their comments) and copying
every other part as it is.

A 10,000-row workbook takes a tenth of a second this way, where loading and saving it with openpyxl
takes seconds. A package laid out otherwise than this expects (a prefixed main namespace, comments
already there, cells without addresses …) gives None, and the caller makes the copy with openpyxl.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile

from pipeline.outputs import ZIP_TIME
from pipeline.problems import column_index
from pipeline.xml_text import escape, unescape

FILL_RGB = "00FF8080"          # what openpyxl writes for PatternFill("solid", fgColor="FF8080")
AUTHOR = "校验"
COMMENT_WIDTH = 320            # px, and 40 px a line of height plus 40: as annotated_bytes sets them

_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_COMMENTS_TYPE = _RELS + "/comments"
_VML_TYPE = _RELS + "/vmlDrawing"
_COMMENTS_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_VML_CONTENT = "application/vnd.openxmlformats-officedocument.vmlDrawing"
# Elements a worksheet may have after <legacyDrawing>, in the schema's order.
_AFTER_LEGACY_DRAWING = (b"<legacyDrawingHF", b"<picture", b"<oleObjects", b"<controls", b"<webPublishItems",
                         b"<tableParts", b"<extLst", b"</worksheet>")

_ATTRIBUTE = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')
_CELL_REF = re.compile(r"([A-Z]{1,3})(\d+)")


class Unexpected(Exception):
    """The package is not laid out as this module expects: let openpyxl make the copy."""


def annotated_package(data: bytes, notes: dict[tuple[str, str], list[str]]) -> bytes | None:
    """The package with the notes ((sheet, cell such as "E4") → messages) marked, notes on sheets it
    does not have passed over; None when it cannot be done by editing its XML (or no note is on a sheet)."""
    try:
        return _annotated(data, notes)
    except (Unexpected, KeyError, ValueError, zipfile.BadZipFile, UnicodeDecodeError):
        return None


def _annotated(data: bytes, notes: dict[tuple[str, str], list[str]]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    names = source.namelist()
    parts: dict[str, bytes] = {}
    sheets = _sheet_parts(source)
    by_sheet: dict[str, dict[str, list[str]]] = {}
    for (sheet, cell), messages in notes.items():
        if sheet in sheets:
            if not _CELL_REF.fullmatch(cell):
                raise Unexpected(cell)
            by_sheet.setdefault(sheet, {})[cell] = messages
    if not by_sheet:
        raise Unexpected("no sheet")
    styles_name = _styles_part(source)
    styles, marked = _styles_with_fill(source.read(styles_name))
    content_types = source.read("[Content_Types].xml")
    taken = set(names)
    for number, (sheet, cells) in enumerate(sorted(by_sheet.items()), start=1):
        sheet_name = sheets[sheet]
        rels_name = posixpath.join(posixpath.dirname(sheet_name), "_rels", posixpath.basename(sheet_name) + ".rels")
        xml = source.read(sheet_name)
        if b"<legacyDrawing" in xml:
            raise Unexpected("comments already")
        xml = _cells_marked(xml, sorted(cells, key=_position), marked)
        comments_name = _free(taken, "xl/comments/comment{}.xml", number)
        vml_name = _free(taken, "xl/drawings/commentsDrawing{}.vml", number)
        rels = source.read(rels_name) if rels_name in names else None
        rels, vml_id = _with_relationships(rels, sheet_name, comments_name, vml_name)
        xml = _with_legacy_drawing(xml, vml_id)
        parts[sheet_name], parts[rels_name] = xml, rels
        parts[comments_name] = _comments_xml(cells)
        parts[vml_name] = _vml(cells)
        content_types = _with_content_types(content_types, comments_name)
    parts["[Content_Types].xml"] = content_types
    parts[styles_name] = finish_styles(styles, marked)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in names + sorted(set(parts) - set(names)):
            entry = zipfile.ZipInfo(name, ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, parts[name] if name in parts else source.read(name))
    return out.getvalue()


def _attributes(tag: bytes) -> dict[str, str]:
    return {name: unescape(value, {"&quot;": '"', "&apos;": "'"}) for name, value in _ATTRIBUTE.findall(tag.decode())}


def _relationships(source: zipfile.ZipFile, rels_name: str) -> dict[str, tuple[str, str]]:
    """Id → (type, target) of a .rels part."""
    found = {}
    for tag in re.findall(rb"<Relationship\b[^>]*>", source.read(rels_name)):
        attributes = _attributes(tag)
        found[attributes["Id"]] = (attributes.get("Type", ""), attributes["Target"])
    return found


def _resolved(base: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))


def _sheet_parts(source: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the part holding its XML."""
    workbook = source.read("xl/workbook.xml")
    if b"<sheets" not in workbook:
        raise Unexpected("workbook")
    rels = _relationships(source, "xl/_rels/workbook.xml.rels")
    sheets = {}
    for tag in re.findall(rb"<sheet\b[^>]*>", workbook):
        attributes = _attributes(tag)
        relation = next((value for name, value in attributes.items() if name.endswith(":id")), None)
        if relation is None or relation not in rels:
            raise Unexpected("sheet")
        kind, target = rels[relation]
        if kind.endswith("/worksheet"):
            sheets[attributes["name"][:31]] = _resolved("xl", target)
    return sheets


def _styles_part(source: zipfile.ZipFile) -> str:
    for kind, target in _relationships(source, "xl/_rels/workbook.xml.rels").values():
        if kind.endswith("/styles"):
            return _resolved("xl", target)
    raise Unexpected("styles")


def _counted_list(xml: bytes, tag: bytes, item: bytes) -> tuple[int, int, list[bytes]]:
    """Where the content of <tag count=…>…</tag> starts and ends, and its items."""
    opening = re.search(rb"<" + tag + rb"\b[^>]*>", xml)
    if opening is None or opening.group().endswith(b"/>"):
        raise Unexpected(tag)
    end = xml.index(b"</" + tag + b">", opening.end())
    body = xml[opening.end():end]
    items = re.findall(rb"<" + item + rb"\b[^>]*/>|<" + item + rb"\b(?:[^>]*[^/>])?>.*?</" + item + rb">", body, re.S)
    if _tight(b"".join(items)) != _tight(body):
        raise Unexpected(tag)
    return opening.end(), end, items


def _tight(xml: bytes) -> bytes:
    return re.sub(rb">\s+<", b"><", xml).strip()


class Marked:
    """The styles of marked cells: each style index a marked cell had gets a red twin, appended to
    cellXfs in the order first needed (finish_styles writes them)."""

    def __init__(self, xfs: list[bytes], fill_id: int):
        self.xfs, self.fill_id = xfs, fill_id
        self.added: dict[int, int] = {}         # style index → its red twin's index

    def index(self, style: int) -> int:
        if not 0 <= style < len(self.xfs):
            raise Unexpected("style")
        return self.added.setdefault(style, len(self.xfs) + len(self.added))

    def twin(self, style: int) -> bytes:
        xf = re.sub(rb'\s(fillId|applyFill)="[^"]*"', b"", self.xfs[style])
        return re.sub(rb"^<xf\b", b'<xf fillId="%d" applyFill="1"' % self.fill_id, xf)


def _styles_with_fill(styles: bytes) -> tuple[bytes, Marked]:
    """styles.xml with a red fill appended, and the Marked that adds red twins of cell styles."""
    start, end, fills = _counted_list(styles, b"fills", b"fill")
    fill = (b'<fill><patternFill patternType="solid"><fgColor rgb="' + FILL_RGB.encode()
            + b'"/><bgColor rgb="' + FILL_RGB.encode() + b'"/></patternFill></fill>')
    styles = _recounted(styles, b"fills", start, end, len(fills) + 1, fill)
    _, _, xfs = _counted_list(styles, b"cellXfs", b"xf")
    return styles, Marked(xfs, len(fills))


def _recounted(xml: bytes, tag: bytes, start: int, end: int, count: int, appended: bytes) -> bytes:
    opening = xml[:start]
    head = opening[:opening.rindex(b"<" + tag)]
    tag_text = opening[len(head):]
    if b"count=" in tag_text:
        tag_text = re.sub(rb'count="\d+"', b'count="%d"' % count, tag_text)
    return head + tag_text + xml[start:end] + appended + xml[end:]


def finish_styles(styles: bytes, marked: Marked) -> bytes:
    """styles.xml with the red twins of the styles used appended to cellXfs."""
    start, end, xfs = _counted_list(styles, b"cellXfs", b"xf")
    twins = b"".join(marked.twin(style) for style in sorted(marked.added, key=marked.added.get))
    return _recounted(styles, b"cellXfs", start, end, len(xfs) + len(marked.added), twins)


def _position(cell: str) -> tuple[int, int]:
    letters, row = _CELL_REF.fullmatch(cell).groups()
    return int(row), column_index(letters) + 1


def _cells_marked(xml: bytes, cells: list[str], marked: Marked) -> bytes:
    """The sheet XML with every cell in `cells` (in row, column order) given its red style; a cell or
    row the sheet does not have is added, empty."""
    data_start = re.search(rb"<sheetData\b[^>]*>", xml)
    if data_start is None or data_start.group().endswith(b"/>"):
        raise Unexpected("sheetData")
    data_end = xml.index(b"</sheetData>", data_start.end())
    rows = {}
    for match in re.finditer(rb"<row\b[^>]*>", xml[data_start.end():data_end]):
        attributes = _attributes(match.group())
        if "r" not in attributes:
            raise Unexpected("row without r")
        rows[int(attributes["r"])] = data_start.end() + match.start()
    edits: list[tuple[int, int, bytes]] = []          # (start, end, replacement)
    by_row: dict[int, list[str]] = {}
    for cell in cells:
        by_row.setdefault(_position(cell)[0], []).append(cell)
    for row, row_cells in by_row.items():
        if row in rows:
            edits += _row_edits(xml, rows[row], row_cells, marked)
            continue
        later = [start for number, start in rows.items() if number > row]
        at = min(later) if later else data_end
        new = b"".join(b'<c r="%s" s="%d"/>' % (c.encode(), marked.index(0)) for c in row_cells)
        edits.append((at, at, b'<row r="%d">' % row + new + b"</row>"))
    out, done = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1])):
        out += [xml[done:start], replacement]
        done = end
    out.append(xml[done:])
    return b"".join(out)


def _row_edits(xml: bytes, row_start: int, cells: list[str], marked: Marked) -> list[tuple[int, int, bytes]]:
    opening = re.compile(rb"<row\b[^>]*>").match(xml, row_start)
    if opening.group().endswith(b"/>"):
        row_tag = opening.group()[:-2] + b">"
        new = b"".join(b'<c r="%s" s="%d"/>' % (c.encode(), marked.index(0)) for c in cells)
        return [(row_start, opening.end(), row_tag + new + b"</row>")]
    row_end = xml.index(b"</row>", opening.end())
    present = []
    for match in re.finditer(rb"<c\b[^>]*>", xml[opening.end():row_end]):
        attributes = _attributes(match.group())
        if "r" not in attributes:
            raise Unexpected("cell without r")
        present.append((_position(attributes["r"])[1], attributes, opening.end() + match.start(),
                        opening.end() + match.end()))
    edits, added = [], False
    for cell in cells:
        column = _position(cell)[1]
        found = next((p for p in present if p[0] == column), None)
        if found is not None:
            _, attributes, start, end = found
            tag = xml[start:end]
            style = marked.index(int(attributes.get("s", 0)))
            if "s" in attributes:
                tag = re.sub(rb'\ss="\d+"', b' s="%d"' % style, tag, count=1)
            else:
                tag = tag[:2] + b' s="%d"' % style + tag[2:]
            edits.append((start, end, tag))
            continue
        after = next((p for p in present if p[0] > column), None)
        at = after[2] if after is not None else row_end
        edits.append((at, at, b'<c r="%s" s="%d"/>' % (cell.encode(), marked.index(0))))
        added = True
    if added and b"spans=" in opening.group():      # a hint of the row's first and last column: drop it
        edits.append((row_start, opening.end(), re.sub(rb'\sspans="[^"]*"', b"", opening.group())))
    return edits


def _free(taken: set[str], pattern: str, start: int) -> str:
    number = start
    while pattern.format(number) in taken:
        number += 1
    name = pattern.format(number)
    taken.add(name)
    return name


def _with_relationships(rels: bytes | None, sheet_name: str, comments: str, vml: str) -> tuple[bytes, str]:
    """The sheet's .rels with the comments and their drawing added; the drawing's relationship id."""
    if rels is None:
        rels = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>')
    if _COMMENTS_TYPE.encode() in rels or b"</Relationships>" not in rels:
        raise Unexpected("rels")
    used = set(re.findall(rb'Id="([^"]*)"', rels))
    ids = []
    number = 1
    while len(ids) < 2:
        if b"anno%d" % number not in used:
            ids.append("anno%d" % number)
        number += 1
    base = posixpath.dirname(sheet_name)
    added = "".join(f'<Relationship Id="{rid}" Type="{kind}" Target="{posixpath.relpath(target, base)}"/>'
                    for rid, kind, target in ((ids[0], _COMMENTS_TYPE, comments), (ids[1], _VML_TYPE, vml)))
    return rels.replace(b"</Relationships>", added.encode() + b"</Relationships>"), ids[1]


def _with_legacy_drawing(xml: bytes, vml_id: str) -> bytes:
    element = f'<legacyDrawing xmlns:r="{_RELS}" r:id="{vml_id}"/>'.encode()
    data_end = xml.index(b"</sheetData>")
    at = min((found for found in (xml.find(tag, data_end) for tag in _AFTER_LEGACY_DRAWING) if found >= 0),
             default=-1)
    if at < 0:
        raise Unexpected("worksheet end")
    return xml[:at] + element + xml[at:]


def _with_content_types(types: bytes, comments: str) -> bytes:
    if b"</Types>" not in types:
        raise Unexpected("content types")
    added = f'<Override PartName="/{comments}" ContentType="{_COMMENTS_CONTENT}"/>'
    if not re.search(rb'<Default\b[^>]*Extension="vml"', types):
        added = f'<Default Extension="vml" ContentType="{_VML_CONTENT}"/>' + added
    return types.replace(b"</Types>", added.encode() + b"</Types>")


def _comments_xml(cells: dict[str, list[str]]) -> bytes:
    comments = "".join(f'<comment ref="{cell}" authorId="0"><text><t xml:space="preserve">'
                       f'{escape(chr(10).join(messages))}</t></text></comment>'
                       for cell, messages in sorted(cells.items(), key=lambda c: _position(c[0])))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<authors><author>{AUTHOR}</author></authors><commentList>{comments}</commentList></comments>").encode()


def _vml(cells: dict[str, list[str]]) -> bytes:
    """The legacy drawing Excel shows comments with: one hidden note shape per cell."""
    shapes = []
    for number, (cell, messages) in enumerate(sorted(cells.items(), key=lambda c: _position(c[0])), start=1026):
        row, column = _position(cell)
        height = 40 + 40 * len(messages)
        shapes.append(
            f'<v:shape id="_x0000_s{number:04d}" type="#_x0000_t202" style="position:absolute; margin-left:59.25pt;'
            f'margin-top:1.5pt;width:{COMMENT_WIDTH}px;height:{height}px;z-index:1;visibility:hidden" '
            'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow color="black" obscured="t"/>'
            '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"/>'
            '</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:AutoFill>False</x:AutoFill><x:Row>{row - 1}</x:Row><x:Column>{column - 1}</x:Column>"
            "</x:ClientData></v:shape>")
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel"><o:shapelayout v:ext="edit">'
            '<o:idmap v:ext="edit" data="1"/></o:shapelayout><v:shapetype id="_x0000_t202" coordsize="21600,21600" '
            'o:spt="202" path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
            '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>' + "".join(shapes) + "</xml>").encode()


def problem_notes(problems: list, sheets: list[str] | None = None) -> dict[tuple[str, str], list[str]]:
    """(sheet, cell) → the messages to mark it with, for the problems on a sheet (on these sheets, when
    given). A problem without a cell (a rejected header) is put on the first cell of its row, or of its sheet."""
    notes: dict[tuple[str, str], list[str]] = {}
    for problem in problems:
        if not problem.sheet or (sheets is not None and problem.sheet[:31] not in sheets):
            continue
        cell = f"{problem.column or 'A'}{problem.row or 1}"
        notes.setdefault((problem.sheet[:31], cell), []).append(problem.message)
    return notes
