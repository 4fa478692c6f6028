"""ASGI entry point. Like wsgi.py it defaults to production settings, which refuse to start
without their required environment."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlprojects.settings.production")
application = get_asgi_application()
