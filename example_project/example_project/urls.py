"""The admin, and a home page showing the PhoenixKit installs of the default database."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from .views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
]
