"""Messages and sending, against a real SMTP server on 127.0.0.1 (aiosmtpd), offline."""
from __future__ import annotations

import dataclasses
import email
import email.policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from allocator import config, mail
from tests.appserver import free_port


class Sink:
    """Keeps every accepted message. Like a real server, refuses recipients at refuse.example, and shuts
    the session (421) on a message to drop.example, as a rate-limited relay does."""

    def __init__(self):
        self.envelopes = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refuse.example"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(a.endswith("@drop.example") for a in envelope.rcpt_tos):
            return "421 4.3.2 Service shutting down"
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self):
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes]


@pytest.fixture
def sink():
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def settings(port: int, **overrides) -> config.Settings:
    base = dataclasses.replace(
        config.load(), smtp_host="127.0.0.1", smtp_port=port, smtp_user=None, smtp_password=None,
        smtp_from="Project Allocator <noreply@uni.example>", smtp_starttls=True,
    )
    return dataclasses.replace(base, **overrides)


def allocation(to, title="Robots", rank=1, name="Zoë Student"):
    return mail.allocation_email(to=to, student_name=name, project_title=title, supervisor_name="Dr Ada",
                                 rank=rank, cohort_name="MEng 2026/27", app_url="https://alloc.uni.example")


# --- building -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rank, words", [(1, "your 1st choice"), (2, "your 2nd choice"), (3, "your 3rd choice"),
                                         (11, "your 11th choice"), (22, "your 22nd choice"),
                                         (None, "a project you did not rank")])
def test_rank_words(rank, words):
    assert mail.rank_words(rank) == words
    message = allocation("s@uni.example", rank=rank)
    assert f"This is {words}." in message.text and f"This is {words}." in message.html


def test_allocation_email_text_and_html():
    message = allocation("s@uni.example")
    assert message.to == "s@uni.example"
    assert message.subject == "Your project for MEng 2026/27"
    for body in (message.text, message.html):
        for part in ("Zoë Student", "Robots", "Dr Ada", "MEng 2026/27", "https://alloc.uni.example"):
            assert part in body
    assert '<a href="https://alloc.uni.example"' in message.html


def test_allocation_email_escapes_every_user_string_in_html():
    message = mail.allocation_email(
        to="s@uni.example", student_name="<i>Eve</i>", project_title="<script>alert('x')</script>",
        supervisor_name="Dr <b>Mallory</b>", rank=1, cohort_name="A & B",
        app_url='https://x.example/"><script>')
    assert "<script>" not in message.html and "<i>" not in message.html and "<b>Mallory" not in message.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in message.html
    assert "A &amp; B" in message.html
    assert 'href="https://x.example/&quot;&gt;&lt;script&gt;"' in message.html
    # The plain text is not HTML: it keeps the words as written.
    assert "<script>alert('x')</script>" in message.text


def test_allocation_email_refuses_to_link_a_non_web_url():
    message = mail.allocation_email(to="s@uni.example", student_name="S", project_title="P",
                                    supervisor_name=None, rank=1, cohort_name="C", app_url="javascript:alert(1)")
    assert "href" not in message.html and "javascript" not in message.text
    assert "Supervisor" not in message.text


def test_allocation_email_for_an_unplaced_student():
    message = mail.allocation_email(to="s@uni.example", student_name="S", project_title=None,
                                    supervisor_name=None, rank=None, cohort_name="C", app_url=None)
    assert "not been allocated a project" in message.text
    assert "allocated:" not in message.text
    assert "sign in" in message.text.lower()


def test_subject_never_holds_a_line_break():
    message = allocation("s@uni.example")
    hostile = mail.allocation_email(to="s@uni.example", student_name="S", project_title="P", supervisor_name="D",
                                    rank=1, cohort_name="C\r\nBcc: victim@x.example", app_url=None)
    assert "\n" not in message.subject and "\n" not in hostile.subject and "\r" not in hostile.subject


def test_reminder_email():
    message = mail.reminder_email(to="s@uni.example", student_name="Sam <x>", cohort_name="MEng",
                                  deadline_text="3 March 2027, 17:00", app_url="https://a.example")
    assert message.subject == "Reminder: rank your projects for MEng (deadline 3 March 2027, 17:00)"
    assert "The deadline is 3 March 2027, 17:00." in message.text
    assert "Sam <x>" in message.text and "Sam &lt;x&gt;" in message.html
    assert "https://a.example" in message.text and 'href="https://a.example"' in message.html


# --- sending --------------------------------------------------------------------------------------------

def test_send_all_delivers_one_multipart_message_per_student(sink):
    emails = [allocation(f"s{i}@uni.example", title=f"Project <{i}>", rank=i) for i in (1, 2, 3)]
    report = mail.send_all(settings(sink.port), emails, timeout=5)
    assert report == mail.SendReport(sent=3, failed=[])
    assert [e.rcpt_tos for e in sink.envelopes] == [["s1@uni.example"], ["s2@uni.example"], ["s3@uni.example"]]
    assert {e.mail_from for e in sink.envelopes} == {"noreply@uni.example"}
    for i, message in enumerate(sink.messages(), start=1):
        assert message["To"] == f"s{i}@uni.example"
        assert message["From"] == "Project Allocator <noreply@uni.example>"
        assert message["Subject"] == "Your project for MEng 2026/27"
        assert message.get_content_type() == "multipart/alternative"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f"Project <{i}>" in text and "Zoë Student" in text
        assert f"Project &lt;{i}&gt;" in html and f"Project <{i}>" not in html
        assert f"This is {mail.rank_words(i)}." in text
        assert message["Auto-Submitted"] == "auto-generated"


def test_a_refused_recipient_is_reported_and_the_rest_still_go(sink):
    emails = [allocation("a@uni.example"), allocation("ghost@refuse.example"), allocation("b@uni.example")]
    report = mail.send_all(settings(sink.port), emails, timeout=5)
    assert report.sent == 2
    assert [to for to, _ in report.failed] == ["ghost@refuse.example"]
    assert "550" in report.failed[0][1] and "No such user" in report.failed[0][1]
    assert [e.rcpt_tos for e in sink.envelopes] == [["a@uni.example"], ["b@uni.example"]]


def test_a_dropped_connection_fails_the_rest_of_the_batch_without_raising(sink):
    emails = [allocation("a@uni.example"), allocation("x@drop.example"), allocation("b@uni.example"),
              allocation("c@uni.example")]
    report = mail.send_all(settings(sink.port), emails, timeout=5)
    assert report.sent == 1
    assert [to for to, _ in report.failed] == ["x@drop.example", "b@uni.example", "c@uni.example"]
    assert "421" in report.failed[0][1]
    assert all("closed the connection" in reason for _, reason in report.failed[1:])
    assert [e.rcpt_tos for e in sink.envelopes] == [["a@uni.example"]]


def test_an_address_list_is_not_sent_as_one_bulk_message(sink):
    report = mail.send_all(settings(sink.port), [allocation("a@uni.example, b@uni.example"),
                                                 allocation("c@uni.example")], timeout=5)
    assert report.sent == 1 and report.failed[0][0] == "a@uni.example, b@uni.example"
    assert [e.rcpt_tos for e in sink.envelopes] == [["c@uni.example"]]


def test_an_unreachable_server_fails_every_message_without_raising():
    port = free_port()  # bound then closed: nothing listens there
    emails = [allocation("a@uni.example"), allocation("b@uni.example")]
    report = mail.send_all(settings(port), emails, timeout=5)
    assert report.sent == 0
    assert [to for to, _ in report.failed] == ["a@uni.example", "b@uni.example"]
    assert all(f"127.0.0.1:{port}" in reason and "Could not reach" in reason for _, reason in report.failed)


def test_no_email_settings_fails_every_message_with_the_reason():
    report = mail.send_all(settings(25, smtp_host=None), [allocation("a@uni.example")])
    assert report.sent == 0 and "not set up" in report.failed[0][1]


def test_nothing_to_send_opens_no_connection():
    assert mail.send_all(settings(free_port()), []) == mail.SendReport(sent=0, failed=[])


def test_the_password_is_never_sent_where_starttls_was_expected_but_missing(sink):
    report = mail.send_all(settings(sink.port, smtp_user="u", smtp_password="secret"),
                           [allocation("a@uni.example")], timeout=5)
    assert report.sent == 0 and "STARTTLS" in report.failed[0][1]
    assert sink.envelopes == []


def authenticator(server, session, envelope, mechanism, auth_data):
    # handled=False: aiosmtpd then answers 535 itself; otherwise it leaves the client waiting.
    return AuthResult(success=auth_data.login == b"u" and auth_data.password == b"secret", handled=False)


@pytest.fixture
def auth_sink():
    handler = Sink()
    # One mechanism, so a refusal costs one round trip (smtplib tries every mechanism offered).
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def test_login_when_a_user_is_set(auth_sink):
    good = settings(auth_sink.port, smtp_user="u", smtp_password="secret", smtp_starttls=False)
    assert mail.send_all(good, [allocation("a@uni.example")], timeout=5).sent == 1
    bad = dataclasses.replace(good, smtp_password="wrong")
    report = mail.send_all(bad, [allocation("b@uni.example"), allocation("c@uni.example")], timeout=5)
    assert report.sent == 0 and len(report.failed) == 2
    assert all("user name or password" in reason for _, reason in report.failed)
    assert [e.rcpt_tos for e in auth_sink.envelopes] == [["a@uni.example"]]


def test_a_decline_of_two_projects_names_both():
    from allocator.mail import decline_email, quoted_titles

    assert quoted_titles(["A"]) == "“A”"
    assert quoted_titles(["A", "B"]) == "“A” and “B”"
    assert quoted_titles(["A", "B", "C"]) == "“A”, “B” and “C”"
    email = decline_email(to="cora@uni.example", coordinator_name="Cora", student_name="Max",
                          student_email="max@uni.example", project_titles=["Robots", "Kites"],
                          cohort_name="MSc 2026/27", reason="", app_url=None)
    assert email.subject == "Max declined their projects in MSc 2026/27"
    assert "declined their allocated projects “Robots” and “Kites” in MSc 2026/27." in email.text
    one = decline_email(to="cora@uni.example", coordinator_name="Cora", student_name="Zoë",
                        student_email="zoe@uni.example", project_titles=["Robots"], cohort_name="MSc",
                        reason="", app_url=None)
    assert one.subject == "Zoë declined their project in MSc"
    assert "declined their allocated project “Robots” in MSc." in one.text
