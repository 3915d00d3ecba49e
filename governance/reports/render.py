"""A signed report as HTML (a jinja2 template, no external links) and as PDF (WeasyPrint from
that HTML). Both carry the signed JSON, so ``mesh report verify`` checks any of them."""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

from governance.reports.signing import ATTACHMENT, SignedReport

_TEMPLATES = Path(__file__).parent / "templates"


def render_html(signed: SignedReport) -> str:
    """The report as one self-contained HTML page, with the signed JSON inside. The page is a
    function of the signed JSON alone, so verification renders it again and compares."""
    import jinja2  # installed with Airflow; imported when a report is rendered

    from governance.reports.compliance import summary_of

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    envelope = Markup(signed.to_json().replace("</", "<\\/"))  # noqa: S704 - JSON, kept out of the HTML parser
    return env.get_template("compliance.html.j2").render(
        r=signed.report, summary=summary_of(signed.report), key_id=signed.key_id, signature=signed.signature,
        envelope=envelope)


def render_pdf(signed: SignedReport) -> bytes:
    """The HTML report as PDF (WeasyPrint), with the signed JSON attached as ``mesh-report.json``."""
    from weasyprint import HTML, Attachment

    html = render_html(signed)
    attachment = Attachment(string=signed.to_json(), base_url=None, name=ATTACHMENT)
    pdf: bytes = HTML(string=html).write_pdf(attachments=[attachment], uncompressed_pdf=True)
    return pdf
