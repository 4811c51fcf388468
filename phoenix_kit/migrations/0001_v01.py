from django.db import migrations

from phoenix_kit.operations import ApplyVersion


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [ApplyVersion(1)]
