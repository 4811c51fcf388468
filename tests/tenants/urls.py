"""The tenant projects serve nothing; django-pgschemas requires a URLconf per tenant type."""

urlpatterns: list[object] = []
