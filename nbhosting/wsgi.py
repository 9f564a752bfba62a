"""WSGI entry point, served by gunicorn behind nginx."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nbhosting.settings")
application = get_wsgi_application()
