"""WSGI entry point for gunicorn: ``gunicorn fieldapp.wsgi:app``. Each worker process
imports it, builds the app and starts its background worker thread."""

from fieldapp import create_app, worker

app = create_app()
worker.start(app)
