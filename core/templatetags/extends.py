"""``{% extends %}`` as Django's, with the blocks of the page's root template found once.

A built-in of the template engine (config/settings/base.py, TEMPLATES "builtins"), loaded after
Django's own, so every ``{% extends "base.html" %}`` makes this node. Django's node walks every
node of the root template on each render to find its ``{% block %}`` tags: about 0.1 ms of every
page for base.html. The root's blocks are the same for as long as the compiled template lives
(the cached loader keeps it; with DEBUG on each render compiles it afresh), so they are found
once and kept on it.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import Parser, TextNode, Token
from django.template.loader_tags import (
    BLOCK_CONTEXT_KEY,
    BlockContext,
    BlockNode,
    ExtendsNode,
    do_extends,
)

register = template.Library()

_ROOT_BLOCKS = "_shouwang_root_blocks"


def _root_blocks(parent: template.Template) -> dict[str, BlockNode] | None:
    """The blocks of ``parent`` when it extends nothing (the root), else None."""
    try:
        return getattr(parent, _ROOT_BLOCKS)
    except AttributeError:
        pass
    blocks = None
    for node in parent.nodelist:
        # The ExtendsNode has to be the first non-text node.
        if not isinstance(node, TextNode):
            if not isinstance(node, ExtendsNode):
                blocks = {n.name: n for n in parent.nodelist.get_nodes_by_type(BlockNode)}
            break
    setattr(parent, _ROOT_BLOCKS, blocks)
    return blocks


class KeptExtendsNode(ExtendsNode):
    def render(self, context: Any) -> str:
        compiled_parent = self.get_parent(context)
        if BLOCK_CONTEXT_KEY not in context.render_context:
            context.render_context[BLOCK_CONTEXT_KEY] = BlockContext()
        block_context = context.render_context[BLOCK_CONTEXT_KEY]
        block_context.add_blocks(self.blocks)
        root = _root_blocks(compiled_parent)
        if root is not None:
            block_context.add_blocks(root)
        with context.render_context.push_state(compiled_parent, isolated_context=False):
            return compiled_parent._render(context)


@register.tag("extends")
def extends(parser: Parser, token: Token) -> KeptExtendsNode:
    node = do_extends(parser, token)
    return KeptExtendsNode(node.nodelist, node.parent_name, node.template_dirs)
