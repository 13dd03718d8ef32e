from aistrale_common.db.migrate import run_env
from aistrale_router.tables import metadata

run_env(metadata)
