"""A CKAN-compatible Action API (the read subset) over the open data portal, so CKAN
clients (``ckanapi``, CKAN's harvesters, the DataStore readers) work unchanged.

``views`` is the one dispatcher (the request, the token, CKAN's envelope and status
codes), ``actions`` the actions, ``solr`` the subset of Solr's query syntax CKAN clients
send (``q``, ``fq``, ``sort``) turned into queries of the listed catalogue, ``dicts`` the
CKAN shapes (package, resource, organization, group, tag, licence), ``datastore`` the
DataStore search over the data platform's read door. Decision 0030.
"""
