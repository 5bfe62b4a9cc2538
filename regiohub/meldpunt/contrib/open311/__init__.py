"""The Open311 GeoReport v2 API of the contact point (http://wiki.open311.org/GeoReport_v2).

``render``    XML and JSON output, including the spec's error format
``resources`` what the API shows: services, service requests, status mapping, filters
``filing``    a service request posted by an app becomes a report
``updates``   service request updates (mySociety's extension): what happened to reports
``updating``  an update posted by an app changes a report, once
``views``     the endpoints (thin)

Operators' documentation: docs/open311.md; decisions: docs/decisions/0013-open311.md,
docs/decisions/0034-open311-service-request-updates.md.
"""
