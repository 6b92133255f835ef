"""Tortoise models. Every module listed in MODEL_MODULES belongs to the single app `models`."""

import tortoise.models

# Tortoise reads each model class's source file back (inspect.getsource and a regex over it)
# for `#:` comments to turn into field descriptions: ~0.4 s of CPU at every process start, the
# servers' workers and every command included. These models give descriptions as
# `description=...` and hold no `#:` comment (tests/schema/test_model_comments.py), so the
# lookup would find nothing.
tortoise.models._get_comments = lambda cls: {}

MODEL_MODULES = [
    "models.volunteer",
    "models.team",
    "models.activity",
    "models.hours",
    "models.notification",
    "models.helprequest",
    "models.draft",
    "models.stats",
    "models.training",
    "models.project",
    "models.servicepoint",
    "models.honour",
    "models.timebank",
    "models.attendance",
    "models.jobs",
    "models.privacy",
    "models.exchange",
    "models.pii",
    "models.consent",
    "models.reminder",
    "models.calendar",
    "models.swap",
    "models.outreach",
    "models.chat",
    "models.station",
    "models.insurance",
    "models.servicedesk",
    "models.importer",
    "forum.models",
]
