"""The composer's file limits, for the words it shows and the checks it runs before upload."""

from django import template

from routing import outbound_files

register = template.Library()


@register.simple_tag
def attachment_limits() -> dict:
    limit = outbound_files.max_bytes()
    return {
        "max_bytes": limit,
        "max_files": outbound_files.MAX_FILES,
        "words": outbound_files.megabytes(limit),
        "refused_suffixes": " ".join(sorted(outbound_files.REFUSED_SUFFIXES)),
    }
