from django.db import migrations

from phoenix_kit.operations import ApplyVersion


class Migration(migrations.Migration):
    dependencies = [("phoenix_kit", "0006_v06")]
    operations = [ApplyVersion(7)]
