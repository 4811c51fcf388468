from django.db import migrations

from phoenix_kit.operations import ApplyVersion


class Migration(migrations.Migration):
    dependencies = [("phoenix_kit", "0013_v13")]
    operations = [ApplyVersion(14)]
