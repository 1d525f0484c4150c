"""On-site training enquiries, for the admin list and its counts."""
from __future__ import annotations

from sqlalchemy import Select, func, select

from app.models import Enquiry, EnquiryStatus
from app.repositories.base import Repository


class EnquiryRepository(Repository[Enquiry]):
    model = Enquiry

    def search(self, status: EnquiryStatus | None = None) -> Select:
        """Enquiries with `status` (all when None), newest first."""
        stmt = self.select()
        if status is not None:
            stmt = stmt.where(Enquiry.status == status)
        return stmt.order_by(Enquiry.created_at.desc(), Enquiry.id.desc())

    def counts_by_status(self) -> dict[EnquiryStatus, int]:
        rows = self.session.execute(
            select(Enquiry.status, func.count()).group_by(Enquiry.status))
        counts = {status: 0 for status in EnquiryStatus}
        counts.update({status: int(n) for status, n in rows})
        return counts
