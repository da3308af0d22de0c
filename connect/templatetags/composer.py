"""The composer's emoji picker, rendered once per desktop page."""

from django import template

from connect import emoji

register = template.Library()


@register.inclusion_tag("desktop/_compose_tools.html#emoji_picker")
def emoji_picker() -> dict:
    return {"categories": emoji.CATEGORIES}
