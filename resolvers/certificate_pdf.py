"""The certificate as a PDF (reportlab): the frozen content of resolvers/certificate.py, a QR
code that opens the public verification page, and a CJK font every PDF reader has.

The font is reportlab's CID font STSong-Light (Adobe-GB1): the PDF names it and readers supply
the glyphs, so no font file ships with Tongxin and the text stays extractable (tests read it
back with pypdf). Nothing here reads the database: the same content always gives the same page.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.time import BEIJING

FONT = "STSong-Light"
QR_SIZE = 32 * mm
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

_TITLE = ParagraphStyle("title", fontName=FONT, fontSize=20, leading=28, alignment=1)
_BODY = ParagraphStyle("body", fontName=FONT, fontSize=11, leading=17)
_SMALL = ParagraphStyle("small", fontName=FONT, fontSize=9, leading=13)


class _Qr(Flowable):
    """A QR code of `url`, QR_SIZE square."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.width = self.height = QR_SIZE

    def draw(self) -> None:
        widget = QrCodeWidget(self.url, barLevel="M")
        left, bottom, right, top = widget.getBounds()
        drawing = Drawing(QR_SIZE, QR_SIZE, transform=[
            QR_SIZE / (right - left), 0, 0, QR_SIZE / (top - bottom), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, self.canv, 0, 0)


def _day(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(BEIJING).strftime("%Y年%m月%d日")


def _hours(value: float) -> str:
    return f"{value:g}"


def render_certificate_pdf(content: dict[str, Any], url: str, *,
                           superseded: bool = False) -> bytes:
    """The certificate page(s) for `content` (Certificate.content), QR code pointing at `url`."""
    issuer = content["issuer"]
    story: list[Flowable] = [
        Paragraph("志愿服务记录证明", _TITLE), Spacer(1, 6 * mm),
        Paragraph(f"证明编号：{escape(content['serialNumber'])}", _BODY),
    ]
    if superseded:
        story.append(Paragraph("（本证明已被更正后的证明取代，以核验页面为准）", _BODY))
    story += [
        Spacer(1, 4 * mm),
        Paragraph(
            f"兹证明 <b>{escape(content['volunteerName'])}</b>（{escape(content['idType'])}："
            f"{escape(content['idNumberMasked'])}，志愿者编号：{escape(content['volunteerNumber'])}）"
            f"累计参加志愿服务 <b>{_hours(content['totalHours'])}</b> 小时，服务记录如下：", _BODY),
        Spacer(1, 4 * mm),
    ]
    rows: list[list[Any]] = [["服务日期", "服务项目", "时长（小时）", "组织单位"]]
    for entry in content["records"]:
        rows.append([entry.get("date") or _day(entry["startsAt"]),
                     Paragraph(escape(entry["activityTitle"]), _SMALL), _hours(entry["hours"]),
                     Paragraph(escape(entry["team"]), _SMALL)])
    rows.append(["合计", "", _hours(content["totalHours"]), ""])
    table = Table(rows, colWidths=[30 * mm, 70 * mm, 25 * mm, 45 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 10),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    story += [table, Spacer(1, 8 * mm)]
    details = [
        [Paragraph(f"出具单位：{escape(issuer['name'])}", _BODY), _Qr(url)],
        [Paragraph(f"负责人：{escape(issuer.get('principal', ''))}　"
                   f"经办人：{escape(issuer.get('handler', ''))}", _BODY), ""],
        [Paragraph(f"联系方式：{escape(issuer['contact'])}", _BODY), ""],
        [Paragraph(f"出具日期：{_day(content['issuedAt'])}", _BODY), ""],
        [Paragraph("扫描二维码或访问下列地址核验本证明：", _SMALL), ""],
        [Paragraph(escape(url), _SMALL), ""],
    ]
    block = Table(details, colWidths=[130 * mm, 40 * mm])
    block.setStyle(TableStyle([("SPAN", (1, 0), (1, -1)), ("VALIGN", (1, 0), (1, -1), "MIDDLE")]))
    story.append(block)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title="志愿服务记录证明",
                                 author=issuer["name"], leftMargin=20 * mm, rightMargin=20 * mm,
                                 topMargin=20 * mm, bottomMargin=20 * mm)
    document.build(story)
    return buffer.getvalue()
