"""The tenant model of the django-pgschemas test project."""

from __future__ import annotations

from django_pgschemas.models import TenantModel


class Tenant(TenantModel):
    pass
