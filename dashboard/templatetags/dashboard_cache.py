"""{% cached_tables key %}…{% endcached_tables %}: a dashboard page's rendered figures,
kept under a key that changes with the roll-up version (views.py), so the tables of a
page already seen are not rendered again until the figures change.

Django's {% cache %} tag keys on its own fragment name and arguments; this one takes the
figures' key, so the tables and the figures they show are renewed together.
"""

from django import template
from django.utils.safestring import mark_safe

from ..selectors.units import cached_or_render

register = template.Library()


class CachedTablesNode(template.Node):
    def __init__(self, nodelist: template.NodeList, key: template.base.FilterExpression):
        self.nodelist = nodelist
        self.key = key

    def render(self, context) -> str:
        key = self.key.resolve(context)
        if not key:
            return self.nodelist.render(context)
        return mark_safe(cached_or_render(key, lambda: str(self.nodelist.render(context))))


@register.tag
def cached_tables(parser, token):
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("cached_tables takes one argument: the key")
    nodelist = parser.parse(("endcached_tables",))
    parser.delete_first_token()
    return CachedTablesNode(nodelist, parser.compile_filter(bits[1]))
