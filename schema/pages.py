"""Plain HTTP pages beside /graphql: what a QR code, a browser or a download link opens.

- `GET /certificates/{code}`: the public verification page of a certificate. It shows what the
  certificate shows and nothing more, masked (name, ID number), and says when the certificate
  was superseded by a corrected one or withdrawn.
- `GET /certificates/{code}.pdf`: the certificate itself (resolvers/certificate_pdf.py).
- `GET /privacy/archive/{token}`: a person's data archive (resolvers/privacy.py), once, while
  the signed link is fresh.
Unknown codes and spent or expired links answer 404 alike, so nothing can be probed.
"""

from __future__ import annotations

import asyncio
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from resolvers import certificate as certificates
from resolvers import privacy

_NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
_NOT_FOUND = "<!doctype html><meta charset=utf-8><title>未找到</title><p>未找到该证明或链接已失效。</p>"


async def certificate_page(request: Request) -> Response:
    view = await certificates.public_view(request.path_params["code"])
    if view is None:
        return HTMLResponse(_NOT_FOUND, status_code=404, headers=_NO_STORE)
    rows = "".join(
        f"<tr><td>{escape(e['date'])}</td><td>{escape(e['activity'])}</td>"
        f"<td>{e['hours']:g}</td><td>{escape(e['organiser'])}</td></tr>"
        for e in view["records"])
    state = ("<p class=warn>本证明已失效：" + escape(view["supersededNote"]) + "</p>"
             if view["supersededNote"] else "<p class=ok>本证明有效。</p>")
    issuer = view["issuer"]
    html = f"""<!doctype html><html lang=zh-CN><meta charset=utf-8>
<meta name=viewport content="width=device-width,initial-scale=1">
<title>志愿服务记录证明核验</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:.3em}}
.warn{{color:#b00}}.ok{{color:#070}}</style>
<h1>志愿服务记录证明核验</h1>{state}
<dl><dt>证明编号</dt><dd>{escape(view['serialNumber'])}</dd>
<dt>志愿者</dt><dd>{escape(view['volunteerName'])}</dd>
<dt>{escape(view['idType'])}</dt><dd>{escape(view['idNumberMasked'])}</dd>
<dt>志愿者编号</dt><dd>{escape(view['volunteerNumber'])}</dd>
<dt>累计服务时长</dt><dd>{view['totalHours']:g} 小时</dd>
<dt>出具单位</dt><dd>{escape(issuer['name'])}（负责人：{escape(issuer['principal'])}，经办人：{escape(issuer['handler'])}，联系方式：{escape(issuer['contact'])}）</dd>
<dt>出具日期</dt><dd>{escape(view['issuedOn'])}</dd></dl>
<table><tr><th>服务日期</th><th>服务项目</th><th>时长（小时）</th><th>组织单位</th></tr>{rows}</table>
</html>"""
    return HTMLResponse(html, headers=_NO_STORE)


async def certificate_pdf(request: Request) -> Response:
    code = request.path_params["code"]
    model = await certificates.verify_certificate(code)
    if model is None:
        return HTMLResponse(_NOT_FOUND, status_code=404, headers=_NO_STORE)
    # reportlab is imported with the first PDF, not by every server process at start
    from resolvers.certificate_pdf import render_certificate_pdf

    body = await asyncio.to_thread(render_certificate_pdf, model.content,
                                   certificates.verification_url(model.code),
                                   superseded=model.superseded_at is not None)
    return Response(body, media_type="application/pdf", headers={
        **_NO_STORE,
        "Content-Disposition": f'inline; filename="{model.content["serialNumber"]}.pdf"'})


async def archive_download(request: Request) -> Response:
    archive = await privacy.take_archive(request.path_params["token"])
    if archive is None:
        return HTMLResponse(_NOT_FOUND, status_code=404, headers=_NO_STORE)
    name, body = archive
    return Response(body, media_type="application/zip", headers={
        **_NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'})


# `{code}.pdf` before `{code}`: Starlette matches in order and `{code}` would take the suffix.
ROUTES = [
    Route("/certificates/{code}.pdf", certificate_pdf),
    Route("/certificates/{code}", certificate_page),
    Route("/privacy/archive/{token}", archive_download),
]
