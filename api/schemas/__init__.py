"""What goes over the wire: request bodies (`inputs`) and answers (`outputs`)."""
