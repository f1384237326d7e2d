"""Questionnaires: publish (services.py: XLSForm in, versions out; identifiers.py:
fieldapp::identifier marks), a form's life (lifecycle.py: draft/open/closed/archived,
test data; drafts.py: test links and QR codes; media.py: the files a form names),
the pages (views.py) and ``fieldapp forms`` (cli.py)."""
