from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.project import Frequency, TallySubject
from models.servicepoint import ServicePointKind
from models.training import AssessmentKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_search_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActivityQualification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='required_qualifications', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=50)),
            ],
            options={'table': 'activity_qualification', 'app': 'models', 'unique_together': (('activity', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Community',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('district', fields.CharField(db_index=True, max_length=50)),
                ('latitude', fields.FloatField()),
                ('longitude', fields.FloatField()),
            ],
            options={'table': 'community', 'app': 'models', 'unique_together': (('district', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Course',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', null=True, db_constraint=True, to_field='id', related_name='courses', on_delete=OnDelete.RESTRICT)),
                ('created_by', fields.ForeignKeyField('models.Volunteer', source_field='created_by_id', db_constraint=True, to_field='id', related_name='created_courses', on_delete=OnDelete.RESTRICT)),
                ('title', fields.CharField(max_length=200)),
                ('description', fields.TextField(unique=False)),
                ('qualification', fields.CharField(db_index=True, max_length=50)),
                ('validity_months', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'course', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Assessment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('course', fields.OneToOneField('models.Course', source_field='course_id', db_constraint=True, to_field='id', related_name='assessment', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='RECORDED: RECORDED\nQUIZ: QUIZ', enum_type=AssessmentKind, max_length=10)),
                ('pass_score', fields.IntField()),
                ('questions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'assessment', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AssessmentResult',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('assessment', fields.ForeignKeyField('models.Assessment', source_field='assessment_id', db_constraint=True, to_field='id', related_name='results', on_delete=OnDelete.CASCADE)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='assessment_results', on_delete=OnDelete.CASCADE)),
                ('recorded_by', fields.ForeignKeyField('models.Volunteer', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='recorded_results', on_delete=OnDelete.SET_NULL)),
                ('passed', fields.BooleanField()),
                ('score', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'assessment_result', 'app': 'models', 'indexes': [Index(fields=['volunteer_id', 'assessment_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Enrollment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('course', fields.ForeignKeyField('models.Course', source_field='course_id', db_constraint=True, to_field='id', related_name='enrollments', on_delete=OnDelete.CASCADE)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='enrollments', on_delete=OnDelete.CASCADE)),
                ('lessons_completed', fields.IntField(default=0)),
                ('enrolled_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'enrollment', 'app': 'models', 'unique_together': (('course', 'volunteer'),), 'indexes': [Index(fields=['volunteer_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Lesson',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('course', fields.ForeignKeyField('models.Course', source_field='course_id', db_constraint=True, to_field='id', related_name='lessons', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('title', fields.CharField(max_length=200)),
                ('video_url', fields.CharField(null=True, max_length=500)),
                ('material_url', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'lesson', 'app': 'models', 'unique_together': (('course', 'position'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LessonCompletion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('lesson', fields.ForeignKeyField('models.Lesson', source_field='lesson_id', db_constraint=True, to_field='id', related_name='completions', on_delete=OnDelete.CASCADE)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='lesson_completions', on_delete=OnDelete.CASCADE)),
                ('completed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'lesson_completion', 'app': 'models', 'unique_together': (('lesson', 'volunteer'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Project',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', db_constraint=True, to_field='id', related_name='projects', on_delete=OnDelete.RESTRICT)),
                ('created_by', fields.ForeignKeyField('models.Volunteer', source_field='created_by_id', db_constraint=True, to_field='id', related_name='created_projects', on_delete=OnDelete.RESTRICT)),
                ('name', fields.CharField(max_length=200)),
                ('category', fields.CharField(db_index=True, max_length=50)),
                ('district', fields.CharField(db_index=True, max_length=50)),
                ('description', fields.TextField(unique=False)),
                ('cover_image_url', fields.CharField(null=True, max_length=500)),
                ('activities_held', fields.IntField(default=0)),
                ('volunteers_served', fields.IntField(default=0)),
                ('approved_hours', fields.FloatField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'project', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Position',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('project', fields.ForeignKeyField('models.Project', source_field='project_id', db_constraint=True, to_field='id', related_name='positions', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('address', fields.CharField(null=True, max_length=200)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('capacity_per_shift', fields.IntField()),
                ('qualifications', fields.CharField(default='', max_length=700)),
                ('minimum_age', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'position', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProjectSeries',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('project', fields.ForeignKeyField('models.Project', source_field='project_id', db_constraint=True, to_field='id', related_name='series', on_delete=OnDelete.CASCADE)),
                ('position', fields.ForeignKeyField('models.Position', source_field='position_id', null=True, db_constraint=True, to_field='id', related_name='series', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=200)),
                ('frequency', fields.CharEnumField(description='WEEKLY: WEEKLY\nMONTHLY: MONTHLY', enum_type=Frequency, max_length=8)),
                ('weekdays', fields.CharField(default='', max_length=20)),
                ('day_of_month', fields.IntField(null=True)),
                ('start_time', fields.CharField(max_length=5)),
                ('duration_minutes', fields.IntField()),
                ('capacity', fields.IntField()),
                ('first_date', fields.DateField()),
                ('last_date', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'project_series', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProjectTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('project', fields.ForeignKeyField('models.Project', source_field='project_id', db_constraint=True, to_field='id', related_name='tallies', on_delete=OnDelete.CASCADE)),
                ('subject', fields.CharEnumField(description='VOLUNTEER: VOLUNTEER\nACTIVITY: ACTIVITY', enum_type=TallySubject, max_length=10)),
                ('subject_id', fields.IntField()),
                ('records', fields.IntField(default=0)),
            ],
            options={'table': 'project_tally', 'app': 'models', 'unique_together': (('project', 'subject', 'subject_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Qualification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='qualifications', on_delete=OnDelete.CASCADE)),
                ('course', fields.ForeignKeyField('models.Course', source_field='course_id', null=True, db_constraint=True, to_field='id', related_name='granted', on_delete=OnDelete.SET_NULL)),
                ('name', fields.CharField(max_length=50)),
                ('granted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'qualification', 'app': 'models', 'unique_together': (('volunteer', 'name'),), 'indexes': [Index(fields=['name', 'expires_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SeriesOccurrence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('series', fields.ForeignKeyField('models.ProjectSeries', source_field='series_id', db_constraint=True, to_field='id', related_name='occurrences', on_delete=OnDelete.CASCADE)),
                ('activity', fields.OneToOneField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='occurrence', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
            ],
            options={'table': 'series_occurrence', 'app': 'models', 'unique_together': (('series', 'day'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServicePoint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('kind', fields.CharEnumField(db_index=True, description='STATION: STATION\nSCHOOL: SCHOOL\nHUB: HUB\nLIBRARY: LIBRARY\nPARK: PARK\nCOMMUNITY_CENTRE: COMMUNITY_CENTRE', enum_type=ServicePointKind, max_length=16)),
                ('district', fields.CharField(db_index=True, max_length=50)),
                ('address', fields.CharField(null=True, max_length=200)),
                ('latitude', fields.FloatField()),
                ('longitude', fields.FloatField()),
                ('opening_hours', fields.CharField(default='', max_length=200)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', null=True, db_constraint=True, to_field='id', related_name='service_points', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'service_point', 'app': 'models', 'indexes': [Index(fields=['latitude', 'longitude'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Activity',
            name='has_requirements',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Activity',
            name='minimum_age',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Activity',
            name='position',
            field=fields.ForeignKeyField('models.Position', source_field='position_id', null=True, db_constraint=True, to_field='id', related_name='shifts', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Activity',
            name='project',
            field=fields.ForeignKeyField('models.Project', source_field='project_id', null=True, db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Activity',
            name='service_point',
            field=fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', null=True, db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='HelpRequest',
            name='service_point',
            field=fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', null=True, db_constraint=True, to_field='id', related_name='help_requests', on_delete=OnDelete.SET_NULL),
        ),
    ]
