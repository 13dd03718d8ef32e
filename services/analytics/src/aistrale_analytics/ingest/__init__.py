"""Usage ingestion: RabbitMQ usage events into raw rows and exact rollups, exactly once."""
