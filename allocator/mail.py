"""Email to students: the messages (plain text and HTML) and one SMTP batch to send them.

Building and sending are separate so the studio can show what will be sent, and so a publish never
fails because of mail: `send_all` reports every failure instead of raising, and the in-app notification
is written whatever happens here.
"""
from __future__ import annotations

import email.errors
import html
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from collections.abc import Sequence

from allocator.config import Settings
from allocator.engine.words import listed, ordinal

__all__ = ["Email", "SendReport", "allocation_email", "decline_email", "quoted_titles", "rank_words", "reminder_email",
           "send_all"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, reason a person can read)

    @property
    def ok(self) -> bool:
        return not self.failed


def allocation_email(*, to: str, student_name: str, project_title: str | None, supervisor_name: str | None,
                     rank: int | None, cohort_name: str, app_url: str | None, changed: bool = False,
                     previous_title: str | None = None) -> Email:
    """The published allocation for one student; `project_title=None` tells an unplaced student so.
    `changed`: a republished allocation changed the student's project (from `previous_title`, None when
    they had none)."""
    subject = f"Your project for {cohort_name}" if project_title else f"Project allocation for {cohort_name}"
    greeting = f"Dear {student_name},"
    intro = f"The project allocation for {cohort_name} has been published."
    if changed:
        subject = f"Your project for {cohort_name} has changed"
        intro = (f"The project allocation for {cohort_name} has changed: you were on {previous_title}."
                 if previous_title else f"The project allocation for {cohort_name} has changed.")
    if project_title:
        placed = [
            ("You have been allocated:", project_title),
            *((("Supervisor:", supervisor_name),) if supervisor_name else ()),
        ]
        choice = f"This is {rank_words(rank)}."
        action = "Please sign in to accept or decline it"
    else:
        placed = []
        choice = "You have not been allocated a project yet. The coordinator will contact you."
        action = "You can sign in to see the allocation"
    text = "\n".join([
        greeting, "", intro, "",
        *(f"{label} {value}" for label, value in placed),
        choice, "",
        f"{action}: {app_url}" if _is_web_url(app_url) else f"{action} in Project Allocator.",
        "", _SIGNATURE,
    ]) + "\n"
    rows = "".join(f"<tr><td style=\"padding:2px 12px 2px 0;color:#555\">{_e(label)}</td>"
                   f"<td style=\"padding:2px 0\"><strong>{_e(value)}</strong></td></tr>"
                   for label, value in placed)
    body = (
        f"<p>{_e(greeting)}</p><p>{_e(intro)}</p>"
        + (f"<table role=\"presentation\" style=\"border-collapse:collapse\">{rows}</table>" if rows else "")
        + f"<p>{_e(choice)}</p>{_action_html(action, app_url)}"
    )
    return Email(to=to, subject=_one_line(subject), text=text, html=_page(subject, body))


def reminder_email(*, to: str, student_name: str, cohort_name: str, deadline_text: str,
                   app_url: str | None) -> Email:
    """A nudge to a student who has not saved preferences before the deadline."""
    subject = f"Reminder: rank your projects for {cohort_name} (deadline {deadline_text})"
    greeting = f"Dear {student_name},"
    ask = (f"You have not yet ranked your project choices for {cohort_name}. "
           f"The deadline is {deadline_text}.")
    action = "Please sign in and rank your choices"
    text = "\n".join([
        greeting, "", ask, "",
        f"{action}: {app_url}" if _is_web_url(app_url) else f"{action} in Project Allocator.",
        "", _SIGNATURE,
    ]) + "\n"
    body = f"<p>{_e(greeting)}</p><p>{_e(ask)}</p>{_action_html(action, app_url)}"
    return Email(to=to, subject=_one_line(subject), text=text, html=_page(subject, body))


def decline_email(*, to: str, coordinator_name: str, student_name: str, student_email: str,
                  project_titles: Sequence[str], cohort_name: str, reason: str, app_url: str | None) -> Email:
    """To a coordinator: a student declined their published project or projects (a student with
    several places answers for all of them), with their reason, if any."""
    several = len(project_titles) > 1
    subject = f"{student_name} declined their project{'s' if several else ''} in {cohort_name}"
    greeting = f"Dear {coordinator_name},"
    said = (f"{student_name} ({student_email}) declined their allocated project{'s' if several else ''} "
            f"{quoted_titles(project_titles)} in {cohort_name}.")
    why = f"Their reason: {reason}" if reason else "They gave no reason."
    action = "You can place them again in the Allocation studio"
    text = "\n".join([
        greeting, "", said, why, "",
        f"{action}: {app_url}" if _is_web_url(app_url) else f"{action} in Project Allocator.",
        "", _SIGNATURE,
    ]) + "\n"
    body = f"<p>{_e(greeting)}</p><p>{_e(said)}</p><p>{_e(why)}</p>{_action_html(action, app_url)}"
    return Email(to=to, subject=_one_line(subject), text=text, html=_page(subject, body))


def quoted_titles(titles: Sequence[str]) -> str:
    """Project titles as a sentence names them: “A”, “A” and “B”, “A”, “B” and “C”."""
    return listed([f"“{t}”" for t in titles])


def rank_words(rank: int | None) -> str:
    """How an email names a rank: your 1st choice, your 2nd choice … or a project you did not rank."""
    if rank is None or rank < 1:
        return "a project you did not rank"
    return f"your {ordinal(rank)} choice"


def send_all(settings: Settings, emails: Sequence[Email], *, timeout: float = DEFAULT_TIMEOUT) -> SendReport:
    """Send each email as its own multipart/alternative message over one SMTP connection.

    Never raises for mail problems: a refused recipient is recorded and the batch goes on; a server that
    cannot be reached, refuses the login, or drops the connection fails every message not yet sent, each
    with the same reason.
    """
    emails = list(emails)
    if not emails:
        return SendReport(sent=0, failed=[])
    if not settings.email_configured:
        return _all_failed(emails, "Email is not set up (SMTP_HOST and SMTP_FROM are needed).")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        smtp = _connect(settings, timeout)
    except _Refusal as err:
        log.warning("mail: nothing sent: %s", err)
        return _all_failed(emails, str(err))

    sent, failed = 0, []
    sender = parseaddr(settings.smtp_from)[1]
    try:
        for n, mail in enumerate(emails):
            prepared = _prepare(settings.smtp_from, mail)
            if isinstance(prepared, str):
                failed.append((mail.to, prepared))
                continue
            address, message = prepared
            try:
                smtp.send_message(message, from_addr=sender, to_addrs=[address])
                sent += 1
            except smtplib.SMTPRecipientsRefused as err:
                code, text = err.recipients.get(address, (None, b""))
                failed.append((mail.to, f"The mail server refused this address ({code} {_decode(text)})."))
            except smtplib.SMTPServerDisconnected as err:
                # Nothing after this can be sent on this connection.
                failed.extend((m.to, f"The mail server {where} closed the connection: {_reason(err)}")
                              for m in emails[n:])
                break
            except smtplib.SMTPResponseException as err:
                failed.append((mail.to, f"The mail server refused the message ({err.smtp_code} "
                                        f"{_decode(err.smtp_error)})."))
            except smtplib.SMTPException as err:
                # e.g. a non-ASCII address on a server without SMTPUTF8: this message only.
                failed.append((mail.to, f"Could not send: {_reason(err)}"))
            except OSError as err:
                failed.extend((m.to, f"Lost the connection to the mail server {where}: {_reason(err)}")
                              for m in emails[n:])
                break
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    if failed:
        log.warning("mail: %d sent, %d failed (first: %s)", sent, len(failed), failed[0][1])
    return SendReport(sent=sent, failed=failed)


def _prepare(smtp_from: str, mail: Email) -> tuple[str, EmailMessage] | str:
    """(the one recipient address, the message to send), or why this email cannot be sent."""
    try:
        address = _single_address(mail.to)
    except ValueError as err:
        return str(err)
    try:
        message = _message(smtp_from, mail)
    except (ValueError, email.errors.MessageError) as err:
        return f"Could not build the message: {_reason(err)}"
    return address, message


class _Refusal(Exception):
    """A reason to send nothing that is already worded for the coordinator."""


def _connect(settings: Settings, timeout: float) -> smtplib.SMTP:
    """An SMTP connection ready to send, or `_Refusal` saying why not."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    context = ssl.create_default_context()
    encrypted = settings.smtp_port == IMPLICIT_TLS_PORT
    try:
        if encrypted:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout,
                                                  context=context)
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as err:
        raise _Refusal(f"Could not reach the mail server {where}: {_reason(err)}") from err
    try:
        smtp.ehlo()
        if not encrypted and settings.smtp_starttls and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
            encrypted = True
        if settings.smtp_user:
            if settings.smtp_starttls and not encrypted:
                # A server that should offer STARTTLS but does not may be an attacker stripping it.
                raise _Refusal(f"The mail server {where} does not offer STARTTLS, so the password was not "
                               "sent. Set SMTP_STARTTLS=false only if the connection is safe without it.")
            smtp.login(settings.smtp_user, settings.smtp_password or "")
    except _Refusal:
        smtp.close()
        raise
    except smtplib.SMTPAuthenticationError as err:
        smtp.close()
        raise _Refusal(f"The mail server {where} refused the SMTP user name or password "
                       f"({err.smtp_code} {_decode(err.smtp_error)}).") from err
    except smtplib.SMTPNotSupportedError as err:
        smtp.close()
        raise _Refusal(f"The mail server {where} does not accept a login on this connection "
                       "(check SMTP_PORT and SMTP_STARTTLS).") from err
    except (OSError, smtplib.SMTPException) as err:
        smtp.close()
        raise _Refusal(f"Reached the mail server {where} but could not start sending: {_reason(err)}") from err
    except BaseException:
        smtp.close()
        raise
    return smtp


def _message(sender: str, mail: Email) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = _one_line(mail.subject)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    # Asks autoresponders (out-of-office) not to reply to a message no person reads.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def _single_address(to: str) -> str:
    """The one address in `to`; a comma or a newline must not turn one student's mail into a bulk one."""
    if "\n" in to or "\r" in to:
        raise ValueError("Not a valid email address.")
    found = [addr for _, addr in getaddresses([to]) if addr]
    if len(found) != 1 or "@" not in found[0]:
        raise ValueError("Not a single valid email address.")
    return found[0]


def _all_failed(emails: Sequence[Email], reason: str) -> SendReport:
    return SendReport(sent=0, failed=[(m.to, reason) for m in emails])


def _reason(err: BaseException) -> str:
    return str(err) or type(err).__name__


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _one_line(text: str) -> str:
    # Header values may not hold line breaks; a cohort name with one must not break the message.
    return " ".join(str(text).split())


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _is_web_url(url: str | None) -> bool:
    return bool(url) and url.lower().startswith(("https://", "http://"))


def _action_html(action: str, app_url: str | None) -> str:
    if not _is_web_url(app_url):
        return f"<p>{_e(action)} in Project Allocator.</p>"
    return (f"<p>{_e(action)}:</p><p><a href=\"{_e(app_url)}\" style=\"display:inline-block;padding:10px 16px;"
            f"background:#0072B2;color:#ffffff;text-decoration:none;border-radius:4px\">Open Project Allocator"
            f"</a></p><p style=\"font-size:12px;color:#555\">{_e(app_url)}</p>")


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{_e(_one_line(title))}</title></head>"
        "<body style=\"font-family:-apple-system,Segoe UI,Roboto,Arial,sans-serif;font-size:16px;"
        "line-height:1.5;color:#222;max-width:600px;margin:0 auto;padding:16px\">"
        f"{body}<p style=\"color:#555\">{_e(_SIGNATURE)}</p></body></html>"
    )


_SIGNATURE = "This message was sent by Project Allocator. Please do not reply to it."
