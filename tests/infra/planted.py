"""What the backend's role can plant in its own schema (public) to become superuser when a superuser session
runs it: operators and functions that match the expressions of db/app-role.sql and scripts/lib/backup.sh better
than PostgreSQL's own, and, for a restore, a materialized view, an index expression and a trigger. Every planted
piece calls planted_ran(), which records current_user (and whether it is a superuser) in planted_runs, then tries
to create a superuser role and to grant the planter pg_execute_server_program. The tests plant them as the app
role (PLANT, then RESTORE_PLANT), run the script under test as the superuser, and compare escalation() before and
after. Shared by test_app_role.py, test_backup.py, and (as files) scripts/e2e-docker.sh and tests/infra/e2e-kind.sh.
"""
from pathlib import Path

PLANT = (Path(__file__).parent / "planted" / "plant.sql").read_text()
RESTORE_PLANT = (Path(__file__).parent / "planted" / "restore-plant.sql").read_text()
ESCALATION = (Path(__file__).parent / "planted" / "escalation.sql").read_text()


def escalation(query):
    """query(sql) -> stdout as the superuser, in the planted database. The superusers, the role memberships and
    the superuser runs of planted code: equal before and after means no planted code ran as superuser."""
    return query(ESCALATION).strip()
