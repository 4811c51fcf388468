from django.db import migrations

from phoenix_kit.operations import ApplyVersion


class Migration(migrations.Migration):
    # Outside Django's per-migration transaction, so the step can take its
    # online form (CREATE INDEX CONCURRENTLY cannot run inside a transaction).
    atomic = False
    dependencies = [("phoenix_kit", "0009_v09")]
    operations = [ApplyVersion(10)]
