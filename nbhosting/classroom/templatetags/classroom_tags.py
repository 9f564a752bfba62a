from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key: str):
    """A dict's value in a template: {{ progress|get_item:entry.path }}."""
    return mapping.get(key)
