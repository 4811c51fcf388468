"""A tenant app of the django-pgschemas test project besides phoenix_kit (it has no models).

django-pgschemas migrates every app into a tenant whose app list is empty, so
the project needs one even before phoenix_kit is added to it.
"""
