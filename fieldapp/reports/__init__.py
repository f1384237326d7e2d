"""Periodic reports and the zero-report system (零报告制度, issue 11): which form counts as
reporting, per unit and period; completeness and timeliness."""
