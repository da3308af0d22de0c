"""`{% interaction_row interaction %}`: a row of a list, drawn once per change (connect.rows)."""

from django import template

from connect import rows

register = template.Library()


@register.simple_tag
def interaction_row(interaction, row_prefix: str = "") -> str:
    return rows.interaction_row(interaction, row_prefix)
