"""Text as XML character data, as xml.sax.saxutils makes it, without importing xml.sax.saxutils: that
module imports urllib.request, and with it http.client, ssl and email (~11 ms at the start of every
run that writes anything, while only one core is busy)."""
from __future__ import annotations


def escape(data: str, entities: dict[str, str] | None = None) -> str:
    """&, < and > as entities, then each of `entities` (xml.sax.saxutils.escape)."""
    data = data.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    for text, entity in (entities or {}).items():
        data = data.replace(text, entity)
    return data


def unescape(data: str, entities: dict[str, str] | None = None) -> str:
    """&lt; and &gt;, then each of `entities`, then &amp; as the characters (xml.sax.saxutils.unescape)."""
    data = data.replace("&lt;", "<").replace("&gt;", ">")
    for entity, text in (entities or {}).items():
        data = data.replace(entity, text)
    return data.replace("&amp;", "&")
