"""Volunteer accident insurance: policies, the activities a policy names, claims."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.insurance import ClaimStatus, InsuranceScope
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_swap')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InsurancePolicy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('insurer', fields.CharField(max_length=100)),
                ('policy_number', fields.CharField(unique=True, max_length=64)),
                ('covers_from', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('covers_until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('scope', fields.CharEnumField(description='ALL_VOLUNTEERS: ALL_VOLUNTEERS\nTEAM: TEAM\nACTIVITIES: ACTIVITIES', enum_type=InsuranceScope, max_length=16)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', null=True, db_constraint=True, to_field='id', related_name='insurance_policies', on_delete=OnDelete.RESTRICT)),
                ('created_by', fields.ForeignKeyField('models.Volunteer', source_field='created_by_id', db_constraint=True, to_field='id', related_name='insurance_policies', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'insurance_policy', 'app': 'models', 'indexes': [Index(fields=['covers_from', 'covers_until'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InsuranceClaim',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('policy', fields.ForeignKeyField('models.InsurancePolicy', source_field='policy_id', db_constraint=True, to_field='id', related_name='claims', on_delete=OnDelete.RESTRICT)),
                ('sign_up', fields.ForeignKeyField('models.SignUp', source_field='sign_up_id', db_constraint=True, to_field='id', related_name='insurance_claims', on_delete=OnDelete.RESTRICT)),
                ('service_record', fields.ForeignKeyField('models.ServiceRecord', source_field='service_record_id', null=True, db_constraint=True, to_field='id', related_name='insurance_claims', on_delete=OnDelete.SET_NULL)),
                ('incident_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('description', fields.CharField(max_length=2000)),
                ('status', fields.CharEnumField(default=ClaimStatus.OPEN, description='OPEN: OPEN\nSUBMITTED: SUBMITTED\nSETTLED: SETTLED\nREJECTED: REJECTED', enum_type=ClaimStatus, max_length=10)),
                ('created_by', fields.ForeignKeyField('models.Volunteer', source_field='created_by_id', db_constraint=True, to_field='id', related_name='insurance_claims_opened', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'insurance_claim', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InsurancePolicyActivity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('policy', fields.ForeignKeyField('models.InsurancePolicy', source_field='policy_id', db_constraint=True, to_field='id', related_name='activities', on_delete=OnDelete.CASCADE)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='insurance_policies', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'insurance_policy_activity', 'app': 'models', 'unique_together': (('policy', 'activity'),), 'indexes': [Index(fields=['activity_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
