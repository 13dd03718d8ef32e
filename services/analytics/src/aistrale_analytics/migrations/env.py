from aistrale_analytics.tables import metadata
from aistrale_common.db.migrate import run_env

run_env(metadata)
