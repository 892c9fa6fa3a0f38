"""The HTTP API for partner systems (SPEC §8): thin over the engine in `handoff`."""
