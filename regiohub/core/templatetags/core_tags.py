from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def accessible_widget(field: BoundField) -> SafeString:
    """Render the widget with aria-describedby for its help and errors, aria-invalid on error."""
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_help")
    described += [f"{field.auto_id}_error_{i}" for i in range(1, len(field.errors) + 1)]
    attrs: dict[str, str | bool] = {}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)
