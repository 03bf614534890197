import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from config.middleware import (  # noqa: E402  (needs the settings configured)
    BodyDeadline,
    ChunkedBodyReader,
)

# A request body is read within REQUEST_BODY_TIMEOUT seconds in all (else 408); a chunked
# body the server terminated (gunicorn does) is read, within the body limit.
application = BodyDeadline(ChunkedBodyReader(django_application))
