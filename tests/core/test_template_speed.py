"""The template engine's two speed-ups (issue 20, server CPU per request) give Django's text:
the ``date`` filter's written-out formats and ``{% translate %}`` kept per language."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Engine, Template, engines
from django.template.defaultfilters import date as django_date
from django.utils import timezone, translation

from core.templatetags.translation import KeptTranslateNode


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


@pytest.mark.parametrize(
    "value",
    [
        date(2026, 12, 4),
        date(999, 1, 2),
        datetime(2026, 12, 4, 23, 30, tzinfo=ZoneInfo("UTC")),  # 07:30 the next day in Shanghai
        datetime(2026, 1, 2, 3, 4, 5),
        None,
        "",
        "2026-12-04",
    ],
)
@pytest.mark.parametrize("fmt", ["Y-m-d", "Y-m-d H:i", "Y年n月j日", "Y-m"])
def test_the_date_filter_gives_djangos_text(value, fmt):
    with timezone.override("Asia/Shanghai"):
        local = timezone.localtime(value) if isinstance(value, datetime) and value.tzinfo else value
        try:
            expected = django_date(local, fmt)
        except TypeError:  # a time format for a date: Django refuses it, and so do we
            with pytest.raises(TypeError):
                render("{{ value|date:fmt }}", value=value, fmt=fmt)
            return
        ours = render("{{ value|date:fmt }}", value=value, fmt=fmt)
        assert ours == expected
    if isinstance(value, datetime) and value.tzinfo and fmt == "Y-m-d":
        assert ours == "2026-12-05"


def test_a_literal_translation_is_kept_per_language_and_escaping():
    source = '{% load translation %}{% translate "Visits" %}|{% translate "Log in" %}'
    template = engines["django"].from_string(source)
    kept = [n for n in template.template.nodelist if isinstance(n, KeptTranslateNode)]
    assert len(kept) == 2
    with translation.override("zh-hans"):
        assert template.render({}) == "走访|登录"
    with translation.override("en"):
        assert template.render({}) == "Visits|Log in"
    with translation.override("zh-hans"):
        assert template.render({}) == "走访|登录"
    # What Django's own library renders, with autoescaping on and off.
    django_engine = Engine(libraries={"i18n": "django.templatetags.i18n"})
    for autoescape in (True, False, True):
        for language in ("en", "zh-hans"):
            with translation.override(language):
                for text in ("<b>Visits</b>", "100%% done", "Visits"):
                    ours = Template(f'{{% load translation %}}{{% translate "{text}" %}}')
                    djangos = django_engine.from_string(
                        f'{{% load i18n %}}{{% translate "{text}" %}}'
                    )
                    context = {"autoescape": autoescape}
                    assert ours.render(Context({}, **context)) == djangos.render(
                        Context({}, **context)
                    )


def test_other_translate_forms_are_djangos_own():
    source = (
        '{% load translation %}{% translate "Visits" as label %}[{{ label }}]'
        '{% translate name %}{% translate "May" context "month name" %}'
        '{% translate "Visits"|upper %}{% blocktranslate %}Visits{% endblocktranslate %}'
    )
    template = engines["django"].from_string(source)
    assert not any(isinstance(n, KeptTranslateNode) for n in template.template.nodelist)
    with translation.override("en"):
        assert template.render({"name": "Log in"}) == "[Visits]Log inMayVISITSVisits"
    with translation.override("zh-hans"):
        assert template.render({"name": "Log in"}).startswith("[走访]登录")


def test_choice_labels_are_djangos_in_every_language():
    """core.choices: get_FOO_display from a table made once gives Django's label, in the
    current language, and an unknown value as it is."""
    from django.apps import apps
    from django.db.models import Model

    from reminders.models import Notification
    from visits.models import Visit

    assert Notification.get_kind_display.__name__ == "get_kind_display"  # ours, not a partial
    checked = 0
    for model in (Notification, Visit, *apps.get_app_config("children").get_models()):
        for field in model._meta.fields:
            if not field.choices or callable(field.choices):
                continue
            for value, _label in [*field.flatchoices, ("no-such-value", ""), (None, "")]:
                instance = model(**{field.attname: value})
                for language in ("en", "zh-hans"):
                    with translation.override(language):
                        ours = getattr(instance, f"get_{field.name}_display")()
                        assert ours == Model._get_FIELD_display(instance, field)
                        checked += 1
    assert checked > 200
    with translation.override("zh-hans"):
        assert Visit(kind="home").get_kind_display() != Visit(kind="home").kind
