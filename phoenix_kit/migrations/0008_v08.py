from django.db import migrations

from phoenix_kit.operations import ApplyVersion


class Migration(migrations.Migration):
    dependencies = [("phoenix_kit", "0007_v07")]
    operations = [ApplyVersion(8)]
