"""The home page: every PhoenixKit install (prefix) of the default database."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from phoenix_kit import latest_version
from phoenix_kit.status import installed


def home(request: HttpRequest) -> HttpResponse:
    installs = installed(using="default")  # one catalog query
    configured = settings.PHOENIX_KIT_PREFIX
    return render(
        request,
        "home.html",
        {
            "installs": installs,
            "configured": configured,
            "configured_installed": any(status.prefix == configured for status in installs),
            "latest": latest_version(),
        },
    )
