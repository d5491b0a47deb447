"""Every write runs under an identity verified in the same script run (issue 12, point 1).

Streamlit runs a widget's callback before the script, so before app.py has checked who is signed in; a
callback that calls a service acts with the previous run's `Actor`. Two checks: no page passes a callback
that reaches a service (scanned in the source), and a coordinator who lost the right between two runs
(revoked, deactivated, sign-in expired) clicks each button that used to act in a callback: nothing happens.
"""
from __future__ import annotations

import ast
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from streamlit.testing.v1 import AppTest

from allocator import auth, db, services
from allocator.models import AuditEvent, Cohort, User
from tests import factories as f
from tests.conftest import APP_PATH

ROOT = Path(__file__).resolve().parents[2]
# Pages, and the modules a page draws its views from (the studio's, once split up).
PAGES = sorted((ROOT / "pages").glob("*.py")) + sorted((ROOT / "allocator").glob("*_ui/*.py"))
CALLBACK_ARGS = {"on_click", "on_change", "on_submit", "on_select"}
# What acting looks like in a page: a service call, a transaction, the database.
ACTING = {"services", "db", "run_action", "action"}
COORD = "coord@uni.example"


def _callbacks(tree: ast.Module) -> list[tuple[int, ast.AST]]:
    """(line, callable) of every callback argument passed to a widget in the page."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg in CALLBACK_ARGS and not (isinstance(kw.value, ast.Constant)):
                    found.append((node.lineno, kw.value))
    return found


def _acts(fn: ast.AST, functions: dict[str, ast.AST], seen: set[str]) -> list[str]:
    """The names by which `fn` (or a page function it calls) reaches services or the database."""
    hits = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and node.id in ACTING:
            hits.append(node.id)
        if isinstance(node, ast.Attribute) and node.attr in ACTING:
            hits.append(node.attr)
        if isinstance(node, ast.Name) and node.id in functions and node.id not in seen:
            seen.add(node.id)
            hits += _acts(functions[node.id], functions, seen)
    return hits


@pytest.mark.parametrize("path", PAGES, ids=[p.name for p in PAGES])
def test_no_page_callback_calls_a_service(path):
    tree = ast.parse(path.read_text())
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    offenders = []
    for line, target in _callbacks(tree):
        fn = functions.get(target.id) if isinstance(target, ast.Name) else target
        assert fn is not None, f"{path.name}:{line}: callback {ast.unparse(target)} is not a page function"
        if hits := _acts(fn, functions, set()):
            offenders.append(f"{path.name}:{line}: {ast.unparse(target)} reaches {sorted(set(hits))}")
    assert not offenders, "a callback acts before this run's sign-in check:\n" + "\n".join(offenders)


def test_the_scan_finds_a_callback_that_acts():
    # The check above must be able to fail: the shape the pages had before issue 12.
    tree = ast.parse("def _create():\n    ui.run_action(services.create_cohort, actor=ctx.actor)\n"
                     "st.form_submit_button('Create cohort', on_click=_create)\n")
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    (_, target), = _callbacks(tree)
    assert _acts(functions[target.id], functions, set())


# --- behaviour: the right is gone by the time the button is clicked ----------------------------------------

@pytest.fixture
def site(app_database, monkeypatch):
    """Microsoft mode with the browser component replaced: `who["email"]` is whoever the token names,
    None once the token has expired (then microsoft_identity draws the sign-in prompt and returns None)."""
    monkeypatch.setenv("MS_CLIENT_ID", "client-id")
    monkeypatch.setenv("MS_TENANT_ID", "11111111-2222-3333-4444-555555555555")
    who = {"email": COORD}

    def identity(settings):
        if who["email"] is None:
            return None
        return auth.VerifiedIdentity(oid="oid-coord", email=who["email"], name="Casey",
                                     tenant_id=settings.ms_tenant_id,
                                     expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc))

    monkeypatch.setattr(auth, "microsoft_identity", identity)
    with db.session(app_database) as s, s.begin():
        coord = f.admin(s, email=COORD, name="Casey Coordinator")
        cohort = f.cohort(s, name="MEng 2026/27", phase="proposals")
        f.project(s, cohort, f.staff(s, cohort), title="Boats")
        archived = f.cohort(s, name="Old cohort", archived=True)
        backup = services.backup_cohort(s, actor=f.actor(coord), cohort_id=cohort.id)
    return app_database, who, cohort.id, archived.id, backup


def _lose_the_right(url, who, how):
    if how == "expired":
        who["email"] = None
        return
    values = {"revoked": {"is_admin": False}, "deactivated": {"active": False}}[how]
    with db.session(url) as s, s.begin():
        s.execute(update(User).where(User.email == COORD).values(**values))


def _cohorts(url) -> int:
    with db.session(url) as s:
        return s.scalar(select(func.count()).select_from(Cohort).where(Cohort.archived.is_(False)))


def _audit_events(url) -> int:
    with db.session(url) as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


def _prepare(at, button, ids):
    """Fill in what the button needs, on the page as the coordinator left it open."""
    cohort_id, archived_id, backup = ids
    if button in ("create", "copy"):
        at.text_input(key="cohort-new-name").input("Sneaky cohort")
        if button == "copy":
            at.selectbox(key="cohort-new-source").set_value(cohort_id)
        return at.button(key="cohort-new-create")
    if button == "unarchive":
        at.selectbox(key="cohort-unarchive-pick").set_value(archived_id)
        return at.button(key="cohort-unarchive")
    at.file_uploader(key="data-restore-file-0").upload("backup.json", backup, "application/json")
    at.text_input(key="data-restore-name").input("Sneaky cohort")
    return at.button(key="data-restore")


@pytest.mark.parametrize("how", ["revoked", "deactivated", "expired"])
@pytest.mark.parametrize("button", ["create", "copy", "unarchive", "restore"])
def test_a_coordinator_who_lost_the_right_cannot_act_from_an_open_page(site, how, button):
    url, who, cohort_id, archived_id, backup = site
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.run()
    at.switch_page("pages/admin_data.py" if button == "restore" else "pages/admin_cohorts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    target = _prepare(at, button, (cohort_id, archived_id, backup))
    before = _cohorts(url), _audit_events(url)

    _lose_the_right(url, who, how)
    target.click().run()

    assert not at.exception, [e.value for e in at.exception]
    assert (_cohorts(url), _audit_events(url)) == before, f"a {how} coordinator's {button} click acted"


def test_services_reread_the_right_instead_of_trusting_the_actor(session):
    coord = f.admin(session, email="c2@uni.example")
    stale = f.actor(coord)  # taken while the person was a coordinator
    coord.is_admin = False
    session.flush()
    with pytest.raises(services.NotAllowed):
        services.create_cohort(session, actor=stale, name="Sneaky")
    coord.is_admin, coord.active = True, False
    session.flush()
    with pytest.raises(services.NotAllowed):
        services.create_cohort(session, actor=stale, name="Sneaky")
    assert session.scalar(select(func.count()).select_from(Cohort).where(Cohort.name == "Sneaky")) == 0
