"""The CSV templates of the imports, for the coordinator to fill in."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from allocator import io
from allocator.services.access import Actor, require_admin
from allocator.services.errors import Invalid

IMPORT_KINDS = tuple(io.TEMPLATES)


@dataclass(frozen=True)
class ImportTemplate:
    kind: str  # "people", "projects" or "preferences"
    file_name: str
    csv: bytes  # the header and one example row
    columns: tuple[io.TemplateColumn, ...]  # each column's example and accepted values


def import_template(session: Session, *, actor: Actor, kind: str) -> ImportTemplate:
    """The CSV template of one import, for the coordinator to fill in."""
    require_admin(session, actor)
    if kind not in io.TEMPLATES:
        raise Invalid(f"There is no “{kind}” import; use one of {', '.join(IMPORT_KINDS)}.")
    return ImportTemplate(kind=kind, file_name=f"{kind}-template.csv", csv=io.template_csv(kind),
                          columns=io.TEMPLATES[kind])
