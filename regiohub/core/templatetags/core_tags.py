from django import template
from django.forms import BoundField
from django.utils import translation
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def is_optional(field: BoundField) -> bool:
    """Whether the label may say "(optional)": the field is not required, and the form does
    not need it in some cases either. A form names those fields in
    ``conditionally_required`` (the municipality when no point is marked on the map, a
    reason for some changes of status); their help text says when they are needed."""
    if field.field.required:
        return False
    return field.name not in getattr(field.form, "conditionally_required", ())


@register.filter
def language_name(code: str) -> str:
    """A language code as its name in the active language ("nl": "Nederlands" on a Dutch
    page, "néerlandais" on a French one); an unknown code as it is."""
    try:
        return str(translation.get_language_info(code)["name_translated"])
    except KeyError:
        return code


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
