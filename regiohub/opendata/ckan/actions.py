"""The actions of the CKAN API's read subset, by CKAN's names, with CKAN's parameters,
defaults and limits (``ckan/logic/action/get.py``, ``ckan/logic/schema.py``,
``ckanext/datastore/logic``).

Each action takes a :class:`Call` and returns the ``result`` of CKAN's envelope or raises
one of ``errors``. What a package action shows comes from ``opendata.queries`` (the
listed publications) and nothing else; rows come from the data platform's read door.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count
from django.utils.translation import gettext as _

from regiohub.core.models import Organisation
from regiohub.datasets import queries as datasets
from regiohub.opendata import queries
from regiohub.opendata.ckan import catalogue, datastore, dicts, ids, params
from regiohub.opendata.ckan.errors import (
    NotFound,
    SearchQueryError,
    invalid,
    missing,
)
from regiohub.opendata.models import Publication, PublicationFacet, Source

#: What ``status_show`` says this API is compatible with.
CKAN_VERSION = "2.11.0"
#: CKAN's ``ckan.search.rows_max`` and ``search.facets.limit``.
ROWS_MAX = 1000
FACET_LIMIT = 50
#: CKAN's ``ckan.group_and_organization_list_max`` and ``..._all_fields_max``.
GROUP_LIST_MAX = 1000
GROUP_LIST_ALL_FIELDS_MAX = 25
#: The parameters ``package_search`` passes on to Solr (CKAN's ``VALID_SOLR_PARAMETERS``)
#: and those it reads itself.
SOLR_PARAMETERS = {
    "q", "fl", "fq", "rows", "sort", "start", "wt", "qf", "bf", "boost", "facet",
    "facet.mincount", "facet.limit", "facet.field", "extras", "fq_list", "tie", "defType",
    "mm", "df",
}  # fmt: skip
SEARCH_OWN = {"include_private", "include_drafts", "include_deleted", "use_default_schema"}


@dataclass
class Call:
    """One call of an action: its parameters, who asks (anonymous, or a personal API
    token's owner), and the request's path and query string (for ``_links``)."""

    data: dict[str, Any]
    user: Any
    path: str = ""
    query: Mapping[str, Any] | None = None


ACTIONS: dict[str, Callable[[Call], Any]] = {}


def action(function: Callable[[Call], Any]) -> Callable[[Call], Any]:
    ACTIONS[function.__name__] = function
    return function


# --- The site -----------------------------------------------------------------------------


@action
def status_show(call: Call) -> dict[str, Any]:
    """Return a dictionary with information about the site's configuration."""
    return {
        "site_title": _("Open data of %(region)s") % {"region": settings.REGION_NAME},
        "site_description": "",
        "site_url": dicts.site(),
        "error_emails_to": None,
        "locale_default": settings.LANGUAGE_CODE,
        "extensions": ["datastore"],
        "ckan_version": CKAN_VERSION,
    }


@action
def help_show(call: Call) -> str | None:
    """Return the help string for a particular API action.

    :param name: Action function name (eg `package_search`)
    """
    name = params.text(call.data, "name")
    if not name:
        raise missing("name")
    function = ACTIONS.get(name)
    if function is None:
        raise NotFound(_("Action function not found"))
    return function.__doc__


@action
def license_list(call: Call) -> list[dict[str, Any]]:
    """Return the list of licenses available for datasets on the site."""
    return dicts.licences()


# --- Packages and resources ---------------------------------------------------------------


@action
def package_list(call: Call) -> list[str]:
    """Return a list of the names of the site's datasets (packages).

    :param limit: if given, the list of datasets will be broken into pages of at most
        ``limit`` datasets per page and only one page will be returned at a time
    :param offset: when ``limit`` is given, the offset to start returning packages from
    """
    limit = params.natural(call.data, "limit")
    offset = params.natural(call.data, "offset")
    if call.data.get("page") not in (None, ""):
        page = params.integer(call.data, "page")
        if page is not None and page < 1:
            raise invalid("page", _("Must be a positive integer"))
    names = queries.listed().order_by("slug").values_list("slug", flat=True)
    start = offset or 0
    return list(names[start : start + limit] if limit else names[start:])


def _search_parameters(data: Mapping[str, Any]) -> dict[str, Any]:
    rows = params.natural(data, "rows", 10)
    start = params.natural(data, "start", 0)
    facet_limit = params.integer(data, "facet.limit", FACET_LIMIT)
    facet_mincount = params.natural(data, "facet.mincount", 1)
    facet_fields = params.list_of_strings(data, "facet.field")
    fq = params.text(data, "fq")
    fq_list = params.list_of_strings(data, "fq_list")
    question = params.text(data, "q")
    sort = params.text(data, "sort")
    fl_value = data.get("fl")
    if isinstance(fl_value, list):
        fl = [str(f) for f in fl_value]
    else:
        fl = params.text(data, "fl").replace(",", " ").split()
    unknown = sorted(
        k for k in data if k not in SOLR_PARAMETERS | SEARCH_OWN and not k.startswith("ext_")
    )
    if unknown:
        raise SearchQueryError(_("Invalid search parameters: %(names)s") % {"names": unknown})
    return {
        "rows": min(rows or 0, ROWS_MAX),
        "start": start or 0,
        "facet_limit": FACET_LIMIT if facet_limit is None else facet_limit,
        "facet_mincount": 1 if facet_mincount is None else facet_mincount,
        "facet_fields": facet_fields if params.text(data, "facet", "true") != "false" else [],
        "filters": [f for f in (fq, *fq_list) if f.strip()],
        "question": question,
        "sort": sort,
        "fl": fl,
    }


def _display_names(field: str, names: list[str]) -> dict[str, str]:
    if field == "organization":
        found = Organisation.objects.filter(code__in=[n.upper() for n in names]).defer("boundary")
        return {org.code.lower(): org.display_name for org in found}
    if field == "groups":
        return {code.lower(): label for code, label in dicts.theme_labels().items()}
    if field == "license_id":
        return dicts.licence_labels()
    return {}


@action
def package_search(call: Call) -> dict[str, Any]:
    """Searches for packages satisfying a given search criteria.

    :param q: the query (Solr syntax: words, ``field:value``); default ``*:*``
    :param fq: filter queries: ``organization:``, ``tags:``, ``res_format:``,
        ``license_id:``, ``groups:``, ``name:``, ``id:``, ``metadata_modified:[… TO …]``
    :param fq_list: more filter queries
    :param sort: default ``score desc, metadata_modified desc``; also
        ``metadata_created``, ``title_string``, ``name``, ``id``, ``views_recent``
    :param rows: default 10, at most 1000
    :param start: the offset in the complete result
    :param facet.field: a JSON list of ``organization``, ``tags``, ``res_format``,
        ``license_id``, ``groups``
    :param facet.limit: default 50, negative: unlimited
    :param facet.mincount: default 1
    """
    asked = _search_parameters(call.data)
    found = catalogue.run(
        asked["question"],
        asked["filters"],
        sort=asked["sort"],
        start=asked["start"],
        rows=asked["rows"],
        facet_fields=asked["facet_fields"],
        facet_limit=asked["facet_limit"],
        facet_mincount=asked["facet_mincount"],
    )
    results = dicts.Packages(found.results).all()
    if asked["fl"] and "*" not in asked["fl"]:
        results = [{name: package.get(name) for name in asked["fl"]} for package in results]
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, dict[str, Any]] = {}
    for field, values in found.facets.items():
        facets[field] = dict(values)
        names = _display_names(field, [name for name, _n in values])
        items = [
            {"name": name, "display_name": names.get(name) or name, "count": count}
            for name, count in values
        ]
        items.sort(key=lambda item: item["display_name"], reverse=True)
        search_facets[field] = {"title": field, "items": items}
    return {
        "count": found.count,
        "facets": facets,
        "results": results,
        "sort": found.sort,
        "search_facets": search_facets,
    }


def _publication(value: str) -> Publication | None:
    """A listed publication by its name or its package id."""
    slug = value
    if ids.looks_like_uuid(value):
        slug = ids.known_slug(value) or ids.slug_of_package_id(
            value, list(queries.listed().values_list("slug", flat=True))
        )
        if slug is None:
            return None
    return catalogue.entry(slug)


@action
def package_show(call: Call) -> dict[str, Any]:
    """Return the metadata of a dataset (package) and its resources.

    :param id: the id or name of the dataset
    """
    value = params.text(call.data, "id") or params.text(call.data, "name_or_id")
    if not value:
        raise missing("name_or_id")
    publication = _publication(value.strip())
    if publication is None:
        raise NotFound
    return dicts.package(publication)


def _resource_owner(resource_id: str) -> tuple[Publication, str] | None:
    """The listed publication a resource id belongs to, and the resource's suffix."""
    parts = resource_id.split("-")
    for cut in range(len(parts) - 1, max(0, len(parts) - 4), -1):
        publication = catalogue.entry("-".join(parts[:cut]))
        if publication is not None:
            return publication, "-".join(parts[cut:])
    return None


@action
def resource_show(call: Call) -> dict[str, Any]:
    """Return the metadata of a resource: one download format of a dataset's current
    version (``<name>-csv``), or one distribution of a harvested dataset.

    :param id: the id of the resource
    """
    value = params.text(call.data, "id").strip()
    if not value:
        raise missing("id")
    owner = _resource_owner(value)
    if owner is not None:
        for resource in dicts.package(owner[0])["resources"]:
            if resource["id"] == value:
                return resource
    raise NotFound


# --- Organizations, groups, tags ----------------------------------------------------------


def _listed_counts(column: str) -> dict[Any, int]:
    counts = queries.listed().order_by().values(column).annotate(n=Count("pk"))
    return {row[column]: row["n"] for row in counts}


def _group_list(call: Call, entries: list[dict[str, Any]], asked_name: str) -> list[Any]:
    """CKAN's ``_group_or_org_list``: filter, sort, page; names or dictionaries."""
    data = call.data
    all_fields = params.boolean(data, "all_fields")
    limit = params.natural(data, "limit")
    offset = params.natural(data, "offset") or 0
    ceiling = GROUP_LIST_ALL_FIELDS_MAX if all_fields else GROUP_LIST_MAX
    limit = ceiling if limit is None or limit > ceiling else limit
    wanted = data.get(asked_name) or data.get("groups")
    if isinstance(wanted, str):
        wanted = [w.strip() for w in wanted.split(",") if w.strip()]
    if wanted:
        if not isinstance(wanted, list):
            raise invalid(asked_name, _("Not a list"))
        entries = [e for e in entries if e["name"] in {str(w) for w in wanted}]
    question = params.text(data, "q").strip().lower()
    if question:
        entries = [
            e for e in entries if question in e["name"].lower() or question in e["title"].lower()
        ]
    sort = (params.text(data, "sort") or params.text(data, "order_by") or "title asc").strip()
    if sort in ("packages", "package_count"):
        sort = "package_count desc"
    field, _sep, direction = sort.partition(" ")
    field = "package_count" if field == "packages" else field
    if field not in ("name", "title", "package_count") or direction.strip() not in (
        "",
        "asc",
        "desc",
    ):
        raise invalid("sort", _('Invalid "sort" parameter'))
    entries.sort(key=lambda e: e["name"])
    entries.sort(key=lambda e: e[field], reverse=direction.strip() == "desc")
    page = entries[offset : offset + limit]
    return page if all_fields else [e["name"] for e in page]


@action
def organization_list(call: Call) -> list[Any]:
    """Return a list of the names of the site's organizations (the publishers).

    :param all_fields: return organization dictionaries (at most 25) instead of names
    :param sort: ``title asc`` (default), ``name``, ``package_count``
    :param limit: at most 1000 (25 with ``all_fields``)
    :param offset: where to start
    :param organizations: only these names
    :param q: names or titles containing this text
    """
    counts = _listed_counts("publisher_id")
    entries = [
        dicts.organization(org, full=True, count=counts.get(org.pk, 0))
        for org in Organisation.objects.defer("boundary").order_by("code")
    ]
    return _group_list(call, entries, "organizations")


def _organisation(value: str) -> Organisation | None:
    value = value.strip()
    for org in Organisation.objects.defer("boundary"):
        if value in (org.code.lower(), org.code, ids.organization_id(org.code)):
            return org
    return None


def _datasets_of(**where: Any) -> list[dict[str, Any]]:
    found = catalogue.listed().filter(**where).order_by("-updated_at", "pk")[:ROWS_MAX]
    return dicts.Packages(list(found)).all()


@action
def organization_show(call: Call) -> dict[str, Any]:
    """Return the details of an organization (a publisher).

    :param id: the id or name of the organization
    :param include_datasets: include its datasets (at most 1000; default false)
    :param include_dataset_count: include ``package_count`` (default true)
    """
    value = params.text(call.data, "id")
    if not value:
        raise missing("id")
    org = _organisation(value)
    if org is None:
        raise NotFound
    count = queries.listed().filter(publisher=org).count()
    found = dicts.organization(org, full=True, count=count)
    if not params.boolean(call.data, "include_dataset_count", True):
        found.pop("package_count")
    if params.boolean(call.data, "include_datasets"):
        found["packages"] = _datasets_of(publisher=org)
    return found


def _themes() -> list[str]:
    return [str(code) for code in datasets.Theme.values]


@action
def group_list(call: Call) -> list[Any]:
    """Return a list of the names of the site's groups: the EU data themes.

    :param all_fields: return group dictionaries (at most 25) instead of names
    :param sort: ``title asc`` (default), ``name``, ``package_count``
    :param limit: at most 1000 (25 with ``all_fields``)
    :param offset: where to start
    :param groups: only these names
    :param q: names or titles containing this text
    """
    counts = _listed_counts("theme")
    entries = [dicts.group(theme, full=True, count=counts.get(theme, 0)) for theme in _themes()]
    return _group_list(call, entries, "groups")


@action
def group_show(call: Call) -> dict[str, Any]:
    """Return the details of a group (an EU data theme).

    :param id: the id or name of the group
    :param include_datasets: include its datasets (at most 1000; default false)
    :param include_dataset_count: include ``package_count`` (default true)
    """
    value = params.text(call.data, "id").strip()
    if not value:
        raise missing("id")
    theme = next(
        (t for t in _themes() if value in (t.lower(), t, ids.group_id(t))),
        None,
    )
    if theme is None:
        raise NotFound
    found = dicts.group(theme, full=True, count=queries.listed().filter(theme=theme).count())
    if not params.boolean(call.data, "include_dataset_count", True):
        found.pop("package_count")
    if params.boolean(call.data, "include_datasets"):
        found["packages"] = _datasets_of(theme=theme)
    return found


@action
def tag_list(call: Call) -> list[Any]:
    """Return a list of the site's tags (the keywords of the listed datasets).

    :param query: only tags whose names contain this text
    :param vocabulary_id: tags of a vocabulary (the portal has none)
    :param all_fields: return tag dictionaries instead of names
    """
    if params.text(call.data, "vocabulary_id"):
        raise NotFound(_("Could not find vocabulary"))
    question = (params.text(call.data, "query") or params.text(call.data, "q")).strip().lower()
    names = (
        PublicationFacet.objects.filter(
            facet="keyword", publication_id__in=queries.listed().values("pk")
        )
        .order_by("value")
        .values_list("value", flat=True)
        .distinct()
    )
    found = [n for n in names if question in n] if question else list(names)
    if params.boolean(call.data, "all_fields"):
        return [{"id": ids.tag_id(n), "name": n, "vocabulary_id": None} for n in found]
    return found


# --- The DataStore ------------------------------------------------------------------------


def _readable(call: Call, resource_id: str) -> str:
    """The data platform's dataset behind a resource id, as the caller may read it:
    a listed local dataset's resource for anyone; with a token, ``<dataset>-<format>``
    of any dataset its owner may read (region-shared ones included)."""
    owner = _resource_owner(resource_id)
    if owner is not None:
        publication, suffix = owner
        formats = set(
            PublicationFacet.objects.filter(publication=publication, facet="format").values_list(
                "value", flat=True
            )
        )
        if publication.source == Source.LOCAL and suffix.upper() in formats:
            slug = (
                datasets.datasets_for(AnonymousUser())
                .filter(pk=publication.dataset_id)
                .values_list("slug", flat=True)
                .first()
            )
            if slug:
                return slug
    if getattr(call.user, "is_authenticated", False):
        slug, _sep, suffix = resource_id.rpartition("-")
        if suffix in ids.LOCAL_FORMATS and slug:
            info = datasets.dataset_info(call.user, slug)
            if info is not None:
                return info.slug
    raise NotFound(_('Resource "%(id)s" was not found.') % {"id": resource_id[:200]})


@action
def datastore_search(call: Call) -> dict[str, Any]:
    """Search a DataStore resource: the rows of a dataset's current version.

    :param resource_id: the id of the resource (``<name>-csv``)
    :param filters: ``{"column": value}``, a list of values, or ``{"gte": …, "lt": …}``
    :param fields: the fields to return (a list or comma-separated)
    :param sort: ``"column, other desc"``
    :param limit: default 100, at most 32000
    :param offset: rows to skip
    :param include_total: default true
    :param records_format: ``objects`` (default), ``lists``, ``csv`` or ``tsv``

    Full-text search (``q``, ``full_text``) and ``distinct`` are not available.
    """
    resource_id = params.text(call.data, "resource_id") or params.text(call.data, "id")
    if not resource_id.strip():
        raise missing("resource_id")
    user = call.user if getattr(call.user, "is_authenticated", False) else AnonymousUser()
    slug = _readable(call, resource_id.strip())
    return datastore.search(
        user, slug, resource_id.strip(), call.data, path=call.path, query=call.query
    )
