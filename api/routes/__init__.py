"""One router per resource; each route parses, calls one engine function, renders."""
