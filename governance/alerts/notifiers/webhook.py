"""``kind = "webhook"``: a JSON POST, in the shape Slack's incoming webhooks take (``text`` and
``blocks``), which Mattermost, Teams workflows and most chat tools accept too."""

from __future__ import annotations

from typing import Any

from governance.alerts.message import AlertMessage
from governance.alerts.notifiers.base import NotifierError, redact, secret_from
from governance.policy.alerts import WebhookNotifierConfig

_EMOJI = {"alert": ":rotating_light:", "escalation": ":sos:", "resolve": ":white_check_mark:",
          "notice": ":bell:"}


def slack_payload(message: AlertMessage) -> dict[str, Any]:
    """The JSON body: ``text`` (the fallback line) and ``blocks`` (a header, the summary, the
    details as fields, and how to acknowledge)."""
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"[:2000]} for k, v in
              [("severity", message.severity), ("domain", message.domain or "-"), ("route", message.route),
               *((str(k), str(v)) for k, v in message.details.items())]][:10]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{_EMOJI[message.event]} {message.summary}"[:3000]}},
        {"type": "section", "fields": fields},
    ]
    if message.event in ("alert", "escalation"):  # a resolve or a subscriber's notice has nothing to acknowledge
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"acknowledge: `mesh ops ack {message.incident} --as <you>`"}]})
    return {"text": f"{message.title}: {message.summary}", "blocks": blocks}


class WebhookNotifier:
    """POSTs each message to the URL in the environment variable ``url_env``; a reply other than
    2xx, a refused connection or a timeout is a failure (the message stays in the outbox)."""

    kind = "webhook"

    def __init__(self, config: WebhookNotifierConfig) -> None:
        self.name = config.name
        self.config = config

    def send(self, message: AlertMessage) -> None:
        import httpx  # when an alert is sent: not on every load of a mesh

        where = f"[alerts.notifiers.{self.name}].url_env"
        url = secret_from(self.config.url_env, where)
        try:
            reply = httpx.post(url, json=slack_payload(message), timeout=self.config.timeout_seconds)
        except httpx.HTTPError as exc:  # refused, timed out, bad URL: never show the URL (it holds a token)
            raise NotifierError(f"webhook {self.name} unreachable: {type(exc).__name__}: "
                                f"{redact(str(exc), url)[:200]}", where=where,
                                fix=f"check the service behind ${self.config.url_env}") from None
        if not reply.is_success:
            raise NotifierError(f"webhook {self.name} answered HTTP {reply.status_code}: "
                                f"{redact(reply.text, url)[:200]}",
                                where=where, fix=f"check the URL in ${self.config.url_env} and the service's log")
