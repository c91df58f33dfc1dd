"""The installable web app (issue 19): the service worker and its manifest, the page shown with no
signal, and what a director's phone keeps so that the worklist and the visit, contact and
parent-contact forms open offline — the short files of their children and two form shells.

The service worker (templates/visits/sw.js, Workbox vendored under static/vendor/workbox/) keeps
pages network-first: online, every page is as fresh as ever; with no signal, the copy last fetched
opens, and a form never opened for that child opens as its shell filled in by static/js/offline.js
from the short files. Nothing here needs a signal to be read later, so every page says when its
data was fetched (core.templatetags.fetched).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import date
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import TemplateDoesNotExist, engines
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import permissions
from accounts.context_processors import NOBODY
from accounts.models import AuditAction
from accounts.permissions import Capability
from accounts.services import audit_children
from children import rules as child_rules
from children.forms import ParentContactForm
from children.models import Category, Child
from core import clock
from core.templatetags.icons import SPRITE

from . import selectors
from .forms import VisitForm
from .models import VisitKind

# The templates of the pages that open offline: every static file they name ({% static '…' %})
# is precached, so the app shell follows them when their stylesheets or scripts change.
SHELL_TEMPLATES = (
    "base.html",
    "partials/_head.html",
    "partials/_navbar.html",
    "partials/_scripts.html",
    "offline.html",
    "visits/worklist.html",
    "visits/visit_form.html",
    "children/parent_contact_form.html",
)
# Named in code rather than in a template: the icon sprite ({% icon %}) and the manifest's icons.
SHELL_STATIC = (SPRITE, "img/favicon.svg", "img/icon-192.png", "img/icon-512.png")
WORKBOX_MODULES = ("core", "routing", "strategies", "precaching", "expiration")
_STATIC_TAG = re.compile(r"""\{%\s*static\s+['"]([^'"]+)['"]\s*%\}""")

# The service worker's caches besides its precache; static/js/offline.js empties them at logout.
PAGES_CACHE = "shouwang-pages"
CHILDREN_CACHE = "shouwang-children"
NETWORK_TIMEOUT_SECONDS = 4
PAGES_MAX_ENTRIES = 200
PAGES_MAX_AGE_SECONDS = 14 * 24 * 3600
THEME_COLOUR = "#1d5f55"  # the navbar's (static/css/app.css --sw-green)
_ANY_ID = uuid.UUID(int=0)


def app_shell_paths() -> list[str]:
    """Static paths the offline pages need: named by SHELL_TEMPLATES and SHELL_STATIC, and found
    (a file missing would fail the whole precache, hence the service worker's installation)."""
    named: list[str] = []
    for name in SHELL_TEMPLATES:
        named += _STATIC_TAG.findall(_template_source(name))
    named += SHELL_STATIC
    return [path for path in dict.fromkeys(named) if finders.find(path)]


def _template_source(name: str) -> str:
    """A template's text as written, without compiling it."""
    for loader in engines["django"].engine.template_loaders:
        for origin in loader.get_template_sources(name):
            try:
                return origin.loader.get_contents(origin)
            except TemplateDoesNotExist:
                continue
    raise TemplateDoesNotExist(name)


def _file_digest(path: str) -> str:
    return hashlib.md5(Path(finders.find(path)).read_bytes(), usedforsecurity=False).hexdigest()


def precache_entries() -> list[dict]:
    """Workbox precache entries: a hashed name (production's manifest storage) is its own
    revision; an unhashed one (development, tests) is revised by its content."""
    entries = []
    for path in app_shell_paths():
        url = static(path)
        unhashed = url == settings.STATIC_URL + path
        entries.append({"url": url, "revision": _file_digest(path) if unhashed else None})
    return entries


def _revision(entries: list[dict]) -> str:
    """Changes with the app shell, the offline page's templates and the translations: a new
    revision makes the browser install the new service worker."""
    digest = hashlib.sha256(json.dumps(entries, sort_keys=True).encode())
    for name in SHELL_TEMPLATES:
        digest.update(_template_source(name).encode())
    for locale in settings.LOCALE_PATHS:
        for catalogue in sorted(Path(locale).glob("*/LC_MESSAGES/django.mo")):
            digest.update(catalogue.read_bytes())
    return digest.hexdigest()[:16]


def _path_pattern(url: str) -> str:
    """A JavaScript RegExp source matching ``url`` with any uuid where _ANY_ID is."""
    return "^" + re.escape(url).replace(re.escape(str(_ANY_ID)), "[0-9a-f-]{36}") + "$"


def service_worker_config() -> dict:
    entries = precache_entries()
    offline_url = reverse("offline")
    revision = _revision(entries)
    shells = {
        "visit": reverse("visits:offline_shell_visit"),
        "parent_contact": reverse("visits:offline_shell_parent_contact"),
    }
    return {
        "revision": revision,
        "workbox": [static(f"vendor/workbox/workbox-{name}.prod.js") for name in WORKBOX_MODULES],
        "precache": [*entries, {"url": offline_url, "revision": revision}],
        "offline": offline_url,
        "home": reverse("home"),
        "worklist": reverse("visits:worklist"),
        "children": reverse("visits:offline_children"),
        "shells": list(shells.values()),
        # Pages kept network-first, and the shell each opens as when never fetched (or none).
        "pages": [
            {"pattern": _path_pattern(reverse("visits:worklist")), "shell": None},
            {
                "pattern": _path_pattern(reverse("visits:create", args=[_ANY_ID])),
                "shell": shells["visit"],
            },
            {
                "pattern": _path_pattern(reverse("children:parent_contact_add", args=[_ANY_ID])),
                "shell": shells["parent_contact"],
            },
            {"pattern": _path_pattern(reverse("visits:edit", args=[_ANY_ID])), "shell": None},
        ],
        "caches": {"pages": PAGES_CACHE, "children": CHILDREN_CACHE},
        "timeout": NETWORK_TIMEOUT_SECONDS,
        "max_entries": PAGES_MAX_ENTRIES,
        "max_age": PAGES_MAX_AGE_SECONDS,
    }


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """/sw.js: at the root so that its scope is the whole site. It holds no data: no login."""
    config = service_worker_config()
    response = render(
        request,
        "visits/sw.js",
        {"config": json.dumps(config, indent=1), "revision": config["revision"]},
        content_type="application/javascript; charset=utf-8",
    )
    # The browser checks for a new one on each visit, whatever the HTTP cache holds.
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def web_manifest(request: HttpRequest) -> JsonResponse:
    """/manifest.webmanifest: what the phone needs to add 守望 to its home screen."""
    icons = [{"src": static("img/favicon.svg"), "sizes": "any", "type": "image/svg+xml"}]
    for size in (192, 512):
        src = static(f"img/icon-{size}.png")
        icons += [
            {"src": src, "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"},
            {"src": src, "sizes": f"{size}x{size}", "type": "image/png", "purpose": "maskable"},
        ]
    manifest = {
        "id": "/",
        "name": "守望",
        "short_name": "守望",
        "lang": "zh-CN",
        "start_url": reverse("home"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": icons,
    }
    response = JsonResponse(manifest, content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """/offline/: what a page not kept on the phone opens as with no signal. Precached when the
    service worker installs, maybe before anyone logs in: drawn as for nobody (no name, no menu)."""
    return render(
        request,
        "offline.html",
        {"user": AnonymousUser(), "chrome": NOBODY, "show_reminders": False},
    )


@login_required
@require_GET
def visit_shell(request: HttpRequest) -> HttpResponse:
    """The visit form (and the contact form, ?kind=phone) for no child in particular: opened with
    no signal in place of a child's form never fetched, static/js/offline.js fills in the child
    from the short files. Its form posts to the page's address: the child's own form."""
    permissions.require(request.user, Capability.VISIT_RECORD)
    form = VisitForm(initial={"visited_on": clock.today(), "kind": VisitKind.HOME})
    return render(
        request,
        "visits/visit_form.html",
        {"form": form, "child": None, "shell": "visit", "next": ""},
    )


@login_required
@require_GET
def parent_contact_shell(request: HttpRequest) -> HttpResponse:
    """The parent-contact form for no child in particular (as visit_shell)."""
    permissions.require(request.user, Capability.VISIT_RECORD)
    permissions.require(request.user, Capability.CHILD_WRITE)
    form = ParentContactForm(initial={"contacted_on": clock.today(), "channel": "phone"})
    return render(
        request,
        "children/parent_contact_form.html",
        {"form": form, "child": None, "shell": "parent_contact"},
    )


@login_required
@require_GET
def children_json(request: HttpRequest) -> JsonResponse:
    """The short files of the children the user visits, and a fresh CSRF token for the upload
    queue (static/js/capture.js). No ID number, no phone number."""
    permissions.require(request.user, Capability.VISIT_RECORD)
    today = clock.today()
    parent_contacts = permissions.can(request.user, Capability.CHILD_WRITE)
    children = list(selectors.offline_short_files_for(user=request.user, today=today))
    # Copied onto the phone: audited as an export, one record per child.
    audit_children(
        user=request.user,
        action=AuditAction.EXPORT,
        children=children,
        request=request,
        detail={"export": "offline_short_files"},
    )
    return JsonResponse(
        {
            "fetched_at": timezone.localtime().replace(microsecond=0).isoformat(),
            "csrf_token": get_token(request),
            "children": [_short_file(child, today, parent_contacts) for child in children],
        },
        json_dumps_params={"ensure_ascii": False},
    )


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _short_file(child: Child, today: date, parent_contacts: bool) -> dict:
    agreement = child.active_agreements[0] if child.active_agreements else None
    visit_url = reverse("visits:create", args=[child.pk])
    return {
        "id": str(child.pk),
        "name": child.name,
        "village": child.village.name,
        "age": child_rules.age_on(child.birth_date, today),
        "categories": [Category(value).label for value in child.categories],
        "schedule_reason": child.schedule_reason_shown,
        "status": child.status,
        "version": child.version,
        "next_home_visit_due": _day(child.next_home_visit_due),
        "next_contact_due": _day(child.next_contact_due),
        "last_home_visit_on": _day(child.last_home_visit_on),
        "caregiver": (
            {
                "name": agreement.caregiver_name,
                "relation": agreement.get_caregiver_relation_display(),
            }
            if agreement
            else None
        ),
        "urls": {
            "visit": visit_url,
            "contact": f"{visit_url}?kind={VisitKind.PHONE}",
            "parent_contact": reverse("children:parent_contact_add", args=[child.pk])
            if parent_contacts
            else None,
            "detail": reverse("children:detail", args=[child.pk]),
        },
    }


@login_required
@require_GET
def offline_queue(request: HttpRequest) -> HttpResponse:
    """/visits/offline/queue/: what waits on this phone to upload, and the conflicts to decide —
    a shell that static/js/capture.js fills from the phone's IndexedDB (nothing is on the server
    yet)."""
    permissions.require(request.user, Capability.VISIT_RECORD)
    return render(request, "visits/offline_queue.html")
