from django.db import migrations

from phoenix_kit.operations import ApplyVersion


class Migration(migrations.Migration):
    dependencies = [("phoenix_kit", "0002_v02")]
    operations = [ApplyVersion(3)]
