"""JSON as the hash chain takes it: sorted keys, no spaces, UTF-8 kept.

The engine stores JSON columns so too (handoff.store), which lets verify take an event's stored
`data` text as it is.
"""

import json

canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
