"""What a browser sends back for a rendered form that the person leaves as it is."""

from datetime import date

from django import forms


def as_browser_submits(form: forms.BaseForm) -> dict[str, str]:
    """The POST data of a rendered (bound or unbound) form, unchanged: disabled fields are not
    sent, a ticked checkbox is "on" and an unticked one is absent, dates in ISO form."""
    data: dict[str, str] = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if field.disabled:
            continue
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif isinstance(value, date):
            data[name] = value.isoformat()
        else:
            data[name] = "" if value is None else str(value)
    return data


def company_edit_post(relation, **changes) -> dict:
    """The edit form's POST for a company client, as loaded, with `changes` typed in."""
    data = {
        "kind": relation.kind,
        "entity": relation.entity,
        "legal_name": relation.legal_name,
        "client_code": relation.client_code,
        "email": relation.email,
        "language": relation.language,
        "version": relation.version,
    }
    data.update(changes)
    return data
