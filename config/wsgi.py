import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from config.middleware import ChunkedBodyReader  # noqa: E402  (needs the settings configured)

# A chunked request body the server terminated (gunicorn does) is read, within the body limit.
application = ChunkedBodyReader(django_application)
