"""``python -m mediarip.api``: print the OpenAPI document (what ``/api/openapi.json`` serves).

The web app's types are generated from it (``web/src/api/schema.ts``, see ``./dev types``), so
this needs no server, no settings and no database: only the route table and its contracts.
"""

import json
import sys

from .app import routed_app
from .openapi import document

json.dump(document(routed_app()), sys.stdout, indent=2)
sys.stdout.write("\n")
