"""{% frame_fragment "name" expr … %}…{% endframe_fragment %}: a part of the page's frame
(the head's links, the menu, the footer) rendered once per process for each language and
each set of values of the expressions it names, then served as text.

Every page pays for its frame: a few dozen {% url %}, {% static %}, {% translate %} and
{% if perms.… %} nodes, about 3 ms of a cached dashboard page's 10. What they render
depends only on the language and on who the user is in a few yes-or-no ways (signed in,
staff, the menu's permissions), so the text for each combination is kept.

The body may read nothing else: the tag checks it when the template is compiled and
refuses a variable that is not one of its expressions (or named inside it by `as`, or a
loop's variable), so that a change to the frame cannot serve one user's text to
another. It may hold only the tags it knows how to check (text, variables, if, for,
url, static, translate and the language tags), never {% csrf_token %}; names it sets
with `as` stay inside it.
"""

from collections.abc import Iterable, Iterator

from django import template
from django.core.signals import setting_changed
from django.template import defaulttags
from django.template.base import FilterExpression, TextNode, Variable, VariableNode
from django.templatetags import i18n, static
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()

# Per process; a handful of combinations per language. A bound all the same, since a
# key holds the values of the expressions.
MAX_ENTRIES = 256
_rendered: dict[tuple, str] = {}


def fragments_clear(**_kwargs) -> None:
    _rendered.clear()


# A test that changes a setting (the static files' storage, the URLs) must not be served
# text rendered under the old one.
setting_changed.connect(fragments_clear, dispatch_uid="core.frame.fragments_clear")


def _expression_reads(expression: FilterExpression) -> Iterator[str]:
    if isinstance(expression.var, Variable) and expression.var.lookups is not None:
        yield expression.var.var
    for _func, args in expression.filters:
        for lookup, arg in args:
            if lookup and isinstance(arg, Variable) and arg.lookups is not None:
                yield arg.var


def _condition_reads(condition) -> Iterator[str]:
    if condition is None:
        return
    if isinstance(condition, defaulttags.TemplateLiteral):
        yield from _expression_reads(condition.value)
        return
    for part in (getattr(condition, "first", None), getattr(condition, "second", None)):
        yield from _condition_reads(part)


def _node_reads(node: template.Node) -> tuple[list[str], set[str], list[template.NodeList]]:
    """What a node reads, the names it binds, and the node lists under it; an error for
    a node whose reads the tag cannot know."""
    if isinstance(node, (TextNode, defaulttags.CommentNode)):
        return [], set(), []
    if isinstance(node, VariableNode):
        return list(_expression_reads(node.filter_expression)), set(), []
    if isinstance(node, defaulttags.IfNode):
        reads = [
            n for condition, _ in node.conditions_nodelists for n in _condition_reads(condition)
        ]
        return reads, set(), [nodelist for _, nodelist in node.conditions_nodelists]
    if isinstance(node, defaulttags.ForNode):
        nodelists = [node.nodelist_loop, node.nodelist_empty]
        return list(_expression_reads(node.sequence)), set(node.loopvars) | {"forloop"}, nodelists
    if isinstance(node, defaulttags.URLNode):
        expressions = [node.view_name, *node.args, *node.kwargs.values()]
        reads = [n for e in expressions for n in _expression_reads(e)]
        return reads, {node.asvar} if node.asvar else set(), []
    if isinstance(node, static.StaticNode):
        bound = {node.varname} if node.varname else set()
        return list(_expression_reads(node.path)), bound, []
    if isinstance(node, i18n.TranslateNode):
        expressions = [node.filter_expression, node.message_context]
        reads = [n for e in expressions if e is not None for n in _expression_reads(e)]
        return reads, {node.asvar} if node.asvar else set(), []
    if isinstance(node, (i18n.GetAvailableLanguagesNode, i18n.GetCurrentLanguageNode)):
        return [], {node.variable}, []
    raise template.TemplateSyntaxError(
        f"frame_fragment cannot check what {type(node).__name__} reads: keep it outside."
    )


def _check(nodelist: template.NodeList, allowed: Iterable[str]) -> None:
    """Every variable the body reads is an expression of the tag, under one, or bound
    inside the body (before or after: a fragment's names are its own)."""
    reads: list[str] = []
    bound: set[str] = set()
    pending = [nodelist]
    while pending:
        for node in pending.pop() or ():
            node_reads, node_bound, children = _node_reads(node)
            reads += node_reads
            bound |= node_bound
            pending += children
    allowed = set(allowed)
    for name in reads:
        if name in allowed or name.split(".", 1)[0] in bound:
            continue
        if any(name.startswith(f"{expression}.") for expression in allowed):
            continue
        raise template.TemplateSyntaxError(
            f"frame_fragment reads {name!r}, which is not one of its expressions: "
            "name it in the tag, or keep it outside."
        )


class FrameFragmentNode(template.Node):
    def __init__(self, name: str, nodelist: template.NodeList, expressions: list[FilterExpression]):
        self.name = name
        self.nodelist = nodelist
        self.expressions = expressions

    def render(self, context) -> str:
        values = tuple(expression.resolve(context) for expression in self.expressions)
        key = (self.origin.name, self.name, get_language(), values)
        text = _rendered.get(key)
        if text is None:
            # Names the body sets with `as` stay in it.
            with context.push():
                text = str(self.nodelist.render(context))
            if len(_rendered) >= MAX_ENTRIES:
                _rendered.clear()
            _rendered[key] = text
        return mark_safe(text)


@register.tag
def frame_fragment(parser, token):
    bits = token.split_contents()
    if len(bits) < 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError(
            'frame_fragment takes a quoted name: {% frame_fragment "menu" … %}'
        )
    nodelist = parser.parse(("endframe_fragment",))
    parser.delete_first_token()
    _check(nodelist, bits[2:])
    return FrameFragmentNode(bits[1][1:-1], nodelist, [parser.compile_filter(b) for b in bits[2:]])
