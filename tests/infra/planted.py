"""What the backend's role can plant in public to become superuser when a superuser session runs it (planted/*.sql):
every piece records its runs in planted_runs and tries to escalate; escalation() before and after must be equal.
Shared by test_app_role.py, test_backup.py, scripts/e2e-docker.sh and tests/infra/e2e-kind.sh."""
from pathlib import Path

PLANT = (Path(__file__).parent / "planted" / "plant.sql").read_text()
RESTORE_PLANT = (Path(__file__).parent / "planted" / "restore-plant.sql").read_text()
ESCALATION = (Path(__file__).parent / "planted" / "escalation.sql").read_text()


def escalation(query):
    """query(sql) -> stdout as the superuser, in the planted database. The superusers, the role memberships and
    the superuser runs of planted code: equal before and after means no planted code ran as superuser."""
    return query(ESCALATION).strip()
