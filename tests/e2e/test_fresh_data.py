"""Every journey starts from the same fresh data, whatever the journey before it did or left half done
(a failed journey must not fail the next one): the running server sees the database reset under it."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import skip_reason

if skip_reason():  # no Playwright or no /usr/bin/chromium: one clean skip for the whole module
    pytest.skip(skip_reason(), allow_module_level=True)

from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from allocator import db, services
from allocator.models import AllocationRun, Preference
from tests.e2e.conftest import reset_database

pytestmark = pytest.mark.e2e


def test_the_server_sees_the_database_reset_under_it(app, deployment, template_database):
    dep = deployment
    admin = services.Actor(dep.admin.user_id, dep.admin.email, dep.admin.name, True)
    with db.session(dep.database_url) as s, s.begin():  # the leftovers of a journey that stopped half way
        services.update_cohort_settings(s, actor=admin, cohort_id=dep.cohort_id, phase_override="closed")
        params = services.default_parameters(s, actor=admin, cohort_id=dep.cohort_id)
        run = services.run_allocation(s, actor=admin, cohort_id=dep.cohort_id, params=params, label="left over")
        services.publish_run(s, actor=admin, run_id=run.id)
    app.open("/")
    app.sign_in(dep.student.name, dep.student.email)
    app.go("My allocation")
    expect(app.main.get_by_text("You have not been placed", exact=False)).to_be_visible()

    db.dispose_all()
    reset_database(template_database, Path(make_url(dep.database_url).database))
    with db.session(dep.database_url) as s:
        assert s.scalar(select(func.count(AllocationRun.id))) == 0
        assert s.scalar(select(func.count(Preference.id)).where(Preference.student_id == dep.student.user_id)) == 0
    app.reload()
    app.expect_signed_in(dep.student.name, dep.student.email)
    expect(app.main.get_by_role("heading", name="My allocation")).to_be_visible()
    expect(app.main.get_by_text("The allocation has not been published yet.")).to_be_visible()
