"""Area model: one node of the administrative tree."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldapp.extensions import db
from fieldapp.i18n import N_

LEVELS = ("city", "district", "town", "village")
# Shown through gettext (``areas.services.level_label``).
LEVEL_LABELS = {
    "city": N_("市"),
    "district": N_("县/市/区"),
    "town": N_("镇/街道"),
    "village": N_("村/社区"),
}


class Area(db.Model):
    """A node of the area tree.

    ``path`` is the materialised path of area codes, e.g. ``/3301/330102/330102001/``; a
    user's scope is every area whose path starts with the path of the user's home area.
    """

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True)
    # A deactivated area keeps its data and users but takes no new users or areas.
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    parent: Mapped[Area | None] = relationship(remote_side=[id])

    def contains(self, other: Area) -> bool:
        """True when ``other`` is this area or lies below it."""
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<Area {self.code} {self.name}>"
