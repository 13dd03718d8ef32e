"""Usage exports: an asynchronous job writes a time range as CSV to object storage."""
