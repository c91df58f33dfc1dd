"""The template engine's speed-ups (issue 20, server CPU per request) give Django's text: the
``date`` filter's written-out formats, ``{% translate %}`` kept per language, ``{% extends %}``
finding the root's blocks once, and the fetched line's minute formatted once."""

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


LAYERS = {
    "root.html": "<{% block title %}root{% endblock %}>{% block body %}[{% block inner %}"
    "i{% endblock %}]{% endblock %}{% if x %}{{ x }}{% endif %}",
    "middle.html": '{% extends "root.html" %}{% block body %}M{{ block.super }}{% endblock %}',
    "page.html": '{% extends "middle.html" %}{% block title %}{{ block.super }}:p{% endblock %}'
    "{% block inner %}P{{ block.super }}{% endblock %}",
}


def _engine(builtins: list[str]) -> Engine:
    return Engine(
        loaders=[
            (
                "django.template.loaders.cached.Loader",
                [("django.template.loaders.locmem.Loader", LAYERS)],
            )
        ],
        builtins=builtins,
    )


def test_extends_gives_djangos_text_and_finds_the_roots_blocks_once(monkeypatch):
    from django.template.base import NodeList

    from core.templatetags.extends import KeptExtendsNode

    ours = _engine(["core.templatetags.extends"])
    djangos = _engine([])
    for x in ("", "x<"):
        expected = djangos.get_template("page.html").render(Context({"x": x}))
        assert ours.get_template("page.html").render(Context({"x": x})) == expected
    assert expected == "<root:p>M[Pi]x&lt;"
    assert isinstance(ours.get_template("page.html").nodelist[0], KeptExtendsNode)
    walks = []
    walk = NodeList.get_nodes_by_type
    monkeypatch.setattr(
        NodeList, "get_nodes_by_type", lambda self, t: walks.append(t) or walk(self, t)
    )
    for _ in range(3):
        ours.get_template("page.html").render(Context({"x": ""}))
    assert walks == []  # kept on the cached root
    for _ in range(3):
        djangos.get_template("page.html").render(Context({"x": ""}))
    assert len(walks) >= 3  # Django's walks the root on every render
    # The site's engine makes ours.
    page = engines["django"].engine.get_template("visits/worklist.html")
    assert isinstance(page.nodelist[0], KeptExtendsNode)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_fetched_line_gives_djangos_date_format(language):
    from django.utils.formats import date_format
    from django.utils.translation import pgettext

    from core.templatetags.fetched import fetched_time

    moment = datetime(2026, 12, 4, 6, 3, 59, tzinfo=ZoneInfo("UTC"))
    with translation.override(language), timezone.override(ZoneInfo("Asia/Shanghai")):
        local = timezone.localtime(moment)
        shown = date_format(local, pgettext("when a page's data was fetched", "M j, H:i"))
        for second in (59, 0, 30):
            text = fetched_time(moment.replace(second=second))
            assert f">{shown}</time>" in text
            assert f'datetime="2026-12-04T14:03:{second:02d}+08:00"' in text
        assert f">{shown}</time>" not in fetched_time(moment.replace(minute=4))
