# The time-to-ready figure also groups by `cold`: the covering index must hold it.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('stats', '0004_drop_indexes_covered_by_others'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='openevent',
            name='stats_open_course_activity',
        ),
        migrations.AddIndex(
            model_name='openevent',
            index=models.Index(fields=['course', 'time', 'student', 'notebook', 'seconds', 'cold'], name='stats_open_course_ready'),
        ),
    ]
