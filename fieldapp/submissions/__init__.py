"""Submissions: receiving them (OpenRosa), filters, data pages (table, one, attachments)."""
