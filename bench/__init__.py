"""`make bench`: the gateway's overhead over a direct call and over a plain reverse proxy."""
