"""API tokens were plaintext keys in the ``authtoken_token`` table; they are now stored
hashed (``ApiToken``). Each old key becomes an ApiToken holding its SHA-512 digest and its
first 15 characters, so the same key keeps working, and the plaintext rows are deleted.
A converted token expires API_TOKEN_TTL_DAYS after this migration (never with 0).

The old table is read with SQL because its app is no longer installed; a database that
never had it (every new one) has nothing to convert. The emptied table is left in place.
Not reversible into plaintext: going back leaves the old table empty.
"""

import datetime as dt

from django.conf import settings
from django.db import migrations
from django.utils import timezone
from django.utils.dateparse import parse_datetime
# knox's own hash, not a copy: a converted key must be found by the lookup the installation
# runs (remediation.accounts.selectors), which hashes with knox's configured algorithm.
from knox.crypto import hash_token

LEGACY_TABLE = "authtoken_token"
PREFIX_LENGTH = 15  # knox's CONSTANTS.TOKEN_KEY_LENGTH: the characters rows are found by
LEGACY_NAME = "converted legacy token"


def _aware(value):
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.timezone.utc)
    return value


def convert(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("remediation", "ApiToken")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('key')}, {quote('user_id')}, {quote('created')} "
            f"FROM {quote(LEGACY_TABLE)}"
        )
        rows = cursor.fetchall()
    days = int(getattr(settings, "API_TOKEN_TTL_DAYS", 0))
    expiry = timezone.now() + dt.timedelta(days=days) if days else None
    for key, user_id, created in rows:
        digest = hash_token(key)
        ApiToken.objects.get_or_create(
            digest=digest,
            defaults={
                "token_key": key[:PREFIX_LENGTH],
                "user_id": user_id,
                "name": LEGACY_NAME,
                "expiry": expiry,
            },
        )
        # `created` is set on insert (auto_now_add): keep the old token's own date.
        ApiToken.objects.filter(digest=digest).update(created=_aware(created))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quote(LEGACY_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("remediation", "0026_apitoken")]

    operations = [migrations.RunPython(convert, migrations.RunPython.noop)]
