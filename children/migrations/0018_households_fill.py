"""Every child gets a household of its own (its id: one per file, nothing to look up) holding
the family members recorded for it; member ID numbers get their keyed hash. Triggers are off
while filling, so the move writes no history events; past member events are filed under the
household too."""

from django.db import migrations

from core import crypto

FILL = """
ALTER TABLE children_child DISABLE TRIGGER USER;
ALTER TABLE children_familymember DISABLE TRIGGER USER;
INSERT INTO children_household (id, created_at) SELECT id, created_at FROM children_child;
UPDATE children_child SET household_id = id;
UPDATE children_familymember SET household_id = child_id;
UPDATE children_childevent SET household_id = pgh_obj_id;
UPDATE children_familymemberevent SET household_id = child_id;
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE children_child ENABLE TRIGGER USER;
ALTER TABLE children_familymember ENABLE TRIGGER USER;
"""


def hash_member_numbers(apps, schema_editor) -> None:
    FamilyMember = apps.get_model("children", "FamilyMember")
    members = FamilyMember.objects.exclude(id_number_encrypted="").only("id_number_encrypted")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE children_familymember DISABLE TRIGGER USER")
        for member in members.iterator(chunk_size=2000):
            number = crypto.decrypt(member.id_number_encrypted)
            if number:
                cursor.execute(
                    "UPDATE children_familymember SET id_number_hash = %s WHERE id = %s",
                    [crypto.lookup_hash(number), member.pk],
                )
        cursor.execute("ALTER TABLE children_familymember ENABLE TRIGGER USER")


class Migration(migrations.Migration):
    dependencies = [("children", "0017_households")]

    operations = [
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.RunPython(hash_member_numbers, migrations.RunPython.noop),
    ]
