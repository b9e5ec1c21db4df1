"""{% frame_fragment %} (core/templatetags/frame.py): the frame's parts rendered once per
process for each language and each value of what they name, and refused when they read
anything else."""

import pytest
from django import urls
from django.template import Context, Template, TemplateSyntaxError
from django.utils import translation

from core.templatetags.frame import fragments_clear


def _template(body: str, named: str = "") -> Template:
    return Template(
        "{% load frame i18n %}"
        f'{{% frame_fragment "part" {named} %}}{body}{{% endframe_fragment %}}'
    )


@pytest.fixture(autouse=True)
def _fresh():
    fragments_clear()
    yield
    fragments_clear()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("{{ user.get_full_name }}", "perms.outreach.add_visit"),
        ("{% if perms.outreach.view_visit %}x{% endif %}", "perms.outreach.add_visit"),
        ("{% if a and not b %}x{% endif %}", "a"),
        ("{% url 'outreach:team_detail' team.pk %}", ""),
        ("{% for x in rows %}{{ x }}{% endfor %}", ""),
        ("{{ a|default:b }}", "a"),
    ],
)
def test_a_fragment_that_reads_what_it_does_not_name_is_refused(body, named):
    with pytest.raises(TemplateSyntaxError, match="not one of its expressions"):
        _template(body, named)


def test_a_fragment_cannot_hold_what_is_per_request():
    with pytest.raises(TemplateSyntaxError, match="CsrfTokenNode"):
        _template("{% csrf_token %}")
    with pytest.raises(TemplateSyntaxError, match="keep it outside"):
        _template("{% now 'Y' %}")


def test_a_fragment_is_rendered_once_for_each_value_and_language():
    template = _template(
        "{% if user.is_staff %}staff{% else %}{% translate 'Log out' %}{% endif %}"
        "{% for code in codes %}{{ code }}{% endfor %}",
        named="user.is_staff codes",
    )

    class Reader:
        def __init__(self, staff: bool):
            self.is_staff = staff

    with translation.override("en"):
        assert template.render(Context({"user": Reader(False), "codes": ("a",)})) == "Log outa"
        assert template.render(Context({"user": Reader(True), "codes": ("a",)})) == "staffa"
        assert template.render(Context({"user": Reader(False), "codes": ("b",)})) == "Log outb"
    with translation.override("vi"):
        vietnamese = template.render(Context({"user": Reader(False), "codes": ("a",)}))
    assert vietnamese != "Log outa" and vietnamese.endswith("a")


def test_the_kept_text_is_served_without_rendering_again(monkeypatch):
    reversed_ = []
    original = urls.reverse
    # {% url %} imports it when it renders.
    monkeypatch.setattr(urls, "reverse", lambda *a, **k: reversed_.append(a) or original(*a, **k))
    template = _template("{% url 'home' %}")
    assert template.render(Context({})) == template.render(Context({})) == "/"
    assert len(reversed_) == 1


def test_names_set_inside_a_fragment_stay_inside_it():
    template = Template(
        "{% load frame %}"
        '{% frame_fragment "part" %}{% url "home" as home %}[{{ home }}]{% endframe_fragment %}'
        "[{{ home }}]"
    )
    assert template.render(Context({})) == "[/][]"
