"""Foreign keys with the seed's names and delete rules, enforced by PostgreSQL itself.

Django emulates ON DELETE in Python and creates deferrable constraints under generated names. Seed
000 asks for ``fk_link_tracking_job`` / ``fk_link_tracking_application`` (ON DELETE SET NULL) and
``fk_link_clicks_tracking`` (ON DELETE CASCADE), so that a system deleting rows with plain SQL gets
the same result as the ORM. SQLite keeps Django's constraints (the closest equivalent there).
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

_DROP_GENERATED = """
DO $$
DECLARE c record;
BEGIN
    FOR c IN
        SELECT conname, conrelid::regclass AS tbl FROM pg_constraint
        WHERE contype = 'f'
          AND conrelid IN ('link_tracking'::regclass, 'link_clicks'::regclass)
          AND conname NOT IN (
              'fk_link_tracking_job', 'fk_link_tracking_application', 'fk_link_clicks_tracking'
          )
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', c.tbl, c.conname);
    END LOOP;
END $$;
"""

_ADD_SEED = """
ALTER TABLE link_tracking ADD CONSTRAINT fk_link_tracking_job
    FOREIGN KEY (job_id) REFERENCES jobs(id) ON DELETE SET NULL;
ALTER TABLE link_tracking ADD CONSTRAINT fk_link_tracking_application
    FOREIGN KEY (application_id) REFERENCES job_applications(id) ON DELETE SET NULL;
ALTER TABLE link_clicks ADD CONSTRAINT fk_link_clicks_tracking
    FOREIGN KEY (tracking_id) REFERENCES link_tracking(tracking_id) ON DELETE CASCADE;
"""

_DROP_SEED = """
ALTER TABLE link_tracking DROP CONSTRAINT IF EXISTS fk_link_tracking_job;
ALTER TABLE link_tracking DROP CONSTRAINT IF EXISTS fk_link_tracking_application;
ALTER TABLE link_clicks DROP CONSTRAINT IF EXISTS fk_link_clicks_tracking;
ALTER TABLE link_tracking ADD FOREIGN KEY (job_id) REFERENCES jobs(id)
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE link_tracking ADD FOREIGN KEY (application_id) REFERENCES job_applications(id)
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE link_clicks ADD FOREIGN KEY (tracking_id) REFERENCES link_tracking(tracking_id)
    DEFERRABLE INITIALLY DEFERRED;
"""


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_DROP_GENERATED, params=None)
        schema_editor.execute(_ADD_SEED, params=None)


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_DROP_SEED, params=None)


class Migration(migrations.Migration):
    dependencies = [("tracking", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
