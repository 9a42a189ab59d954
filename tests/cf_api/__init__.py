"""A small Cloud Foundry API for tests: UAA's password grant and the v2 endpoints
the `cf` actions call, with state in memory so a test can see what changed.

It follows the v2 API's shapes (``{"metadata": {"guid"}, "entity": {...}}``
resources, ``total_results`` lists, ``q=field:value`` filters, CF error bodies)
and refuses requests without a token it issued.
"""

from cf_api.server import CloudFoundryApi, CloudFoundryApp

__all__ = ["CloudFoundryApi", "CloudFoundryApp"]
