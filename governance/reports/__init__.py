"""Reports for auditors and tenants: the signed compliance report of a period (SOX evidence),
its verification, and usage and chargeback per domain. Plain functions returning frozen
dataclasses with ``to_dict``, for the CLI and the web app alike."""

from governance.reports.compliance import (
           ComplianceReport,
           build_compliance_report,
           report_path,
           summary_of,
)
from governance.reports.period import Period
from governance.reports.render import render_html, render_pdf
from governance.reports.signing import (
           ReportError,
           SignedReport,
           load_signed,
           sign_report,
)
from governance.reports.usage import (
           DailyUsage,
           DomainCharge,
           UsageReport,
           measure_usage,
           usage_report,
)
from governance.reports.verification import ReportCheck, verify_report

__all__ = ["ComplianceReport", "DailyUsage", "DomainCharge", "Period", "ReportCheck", "ReportError", "SignedReport",
           "UsageReport", "build_compliance_report", "load_signed", "render_html", "render_pdf", "report_path", "sign_report", "summary_of",
           "measure_usage", "usage_report", "verify_report"]
