from django.db import migrations

from phoenix_kit.operations import ApplyVersion


class Migration(migrations.Migration):
    dependencies = [("phoenix_kit", "0010_v10")]
    operations = [ApplyVersion(11)]
