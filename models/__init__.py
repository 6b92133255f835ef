"""Tortoise models. Every module listed in MODEL_MODULES belongs to the single app `models`."""

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
    "models.reminder",
    "models.calendar",
    "models.chat",
    "forum.models",
]
