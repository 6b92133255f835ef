"""What a person's copy of their data holds (PIPL art. 45; resolvers/privacy.py builds it):
which rows of which table concern them, declared here for every foreign key that names a
volunteer and for every foreign key to a row that is one person's.

The declarations are checked against the models (`undeclared`, run by
tests/privacy/test_archive.py): a new table that names a volunteer, points at a sign-up, a
message or any other row that is one person's, or seals a column, fails that test until it is
declared here, so no table is forgotten silently. At run time an undeclared link to a
volunteer is still followed: a row too many in one's own copy beats a row missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tortoise import Tortoise
from tortoise.models import Model

from core import pii
from models.volunteer import Volunteer

OWN = "own"
DONE = "done"

# Every foreign key to a volunteer, "table.column", and what its rows are to that volunteer:
#   OWN   theirs: their sign-ups, messages, consents. Rows of other tables that point at such
#         a row concern them too, and must be declared in THROUGH.
#   DONE  what they did as an organiser or admin that is theirs to keep: an activity they
#         created, a course, a message they sent to participants.
#   a sentence: left out of the archive, and why. Mostly: the row is someone else's record
#         (hours an admin approved are the volunteer's), and is in that person's archive.
_OTHERS = "the rows are the records of the people acted on, in their own archives"
VOLUNTEER_LINKS: dict[str, str] = {
    "activity.created_by_id": DONE,
    "activity_change.actor_id": DONE,
    "announcement.author_id": DONE,
    "assessment_result.volunteer_id": OWN,
    "assessment_result.recorded_by_id": f"results recorded as an organiser: {_OTHERS}",
    "attendance_event.uploaded_by_id": "scans a station device uploaded are the scanned people's "
                                       "attendance, which reaches each of them through their sign-up",
    "award.created_by_id": DONE,
    "calendar_feed.volunteer_id": OWN,
    "call_out.created_by_id": DONE,
    "call_out_answer.volunteer_id": OWN,
    "certificate.volunteer_id": OWN,
    "chat_message.author_id": OWN,
    "chat_moderation_log.target_volunteer_id": OWN,
    "chat_moderation_log.actor_id": f"moderation of other members: {_OTHERS}",
    "chat_mute.volunteer_id": OWN,
    "chat_read_marker.volunteer_id": OWN,
    "consent.volunteer_id": OWN,
    "consent_event.volunteer_id": OWN,
    "course.created_by_id": DONE,
    "data_request.volunteer_id": OWN,
    "data_request.decided_by_id": "decisions on other people's requests carry their data (the "
                                  "value they asked for); each is in the requester's archive",
    "draft.volunteer_id": OWN,
    "enrollment.volunteer_id": OWN,
    "experience_post.author_id": OWN,
    "forum_board.created_by_id": DONE,
    "forum_board_moderator.volunteer_id": OWN,
    "forum_board_moderator.assigned_by_id": f"appointing other moderators: {_OTHERS}",
    "forum_board_suspension.volunteer_id": OWN,
    "forum_moderation_log.target_volunteer_id": OWN,
    "forum_moderation_log.actor_id": f"moderation of other people's posts: {_OTHERS}",
    "forum_post.author_id": OWN,
    "forum_reaction.volunteer_id": OWN,
    "forum_report.reporter_id": OWN,
    "forum_thread.author_id": OWN,
    "help_request.created_by_id": OWN,
    "help_request.claimed_by_id": DONE,
    "hours_audit.actor_id": f"changes to other people's hours: {_OTHERS}",
    "insurance_claim.created_by_id": "a claim is the injured volunteer's record and may describe an "
                                     "injury; it reaches their archive through their sign-up",
    "insurance_policy.created_by_id": DONE,
    "lesson_completion.volunteer_id": OWN,
    "membership.volunteer_id": OWN,
    "membership.decided_by_id": f"decisions on other people's applications: {_OTHERS}",
    "nomination.volunteer_id": OWN,
    "nomination_audit.actor_id": f"decisions on other people's nominations: {_OTHERS}",
    "notification.volunteer_id": OWN,
    "organiser_message.sender_id": DONE,
    "organiser_message_reply.author_id": OWN,
    "organiser_reminder.organiser_id": DONE,
    "pii_access.subject_id": OWN,
    "pii_access.viewer_id": "what a platform admin read about other people is those people's "
                            "access log (and the platform's, piiAccessLog), with reasons about them",
    "points_account.volunteer_id": OWN,
    "points_entry.volunteer_id": OWN,
    "points_entry.actor_id": f"adjustments of other people's points: {_OTHERS}",
    "points_transfer.from_volunteer_id": OWN,
    "points_transfer.to_volunteer_id": OWN,
    "project.created_by_id": DONE,
    "qualification.volunteer_id": OWN,
    "redemption.volunteer_id": OWN,
    "reminder_preference.volunteer_id": OWN,
    "reward_item.created_by_id": DONE,
    "reward_item_change.actor_id": DONE,
    "service_record.volunteer_id": OWN,
    "service_record.approved_by_id": f"approving other people's hours: {_OTHERS}",
    "service_ticket.opener_id": OWN,
    "service_ticket_message.author_id": OWN,
    "shift_swap.giver_id": OWN,
    "shift_swap.taker_id": OWN,
    "shift_swap.receiver_id": OWN,
    "shift_swap.decided_by_id": f"approving other people's hand-overs: {_OTHERS}",
    "sign_up.volunteer_id": OWN,
    "sms_outbox.volunteer_id": OWN,
    "station_closure.created_by_id": DONE,
    "team.created_by_id": DONE,
    "volunteer_import.started_by_id": DONE,  # file name and counts; its rows hold no values
    "volunteer_import.cancelled_by_id": DONE,  # the same import, stopped by them
}

# Every foreign key to a table with an OWN link, "table.column": None when its rows follow
# the row they point at into that person's archive (the staff's replies in one's service-desk
# ticket, a claim on one's shift), else why not.
_DIRECT = "the same person's rows, in the archive through their own link to the volunteer"
THROUGH: dict[str, str | None] = {
    "attendance_event.sign_up_id": None,
    "hours_audit.record_id": None,
    "insurance_claim.sign_up_id": None,
    "nomination_audit.nomination_id": None,
    "qualification_alert.qualification_id": None,
    "service_ticket_message.ticket_id": None,
    "shift_reminder.sign_up_id": None,
    "station_slot_mark.sign_up_id": None,
    "forum_moderation_log.post_id": None,
    "forum_moderation_log.thread_id": None,
    "insurance_claim.service_record_id": "the same claims, followed through sign_up_id",
    "certificate.superseded_by_id": _DIRECT,
    "chat_moderation_log.message_id": "the moderation of a message names its author as "
                                      "target_volunteer_id",
    "data_request.record_id": _DIRECT,
    "forum_board_suspension.log_id": _DIRECT,
    "forum_post.thread_id": "replies in one's thread are their authors' posts (public on the board)",
    "forum_reaction.post_id": "reactions are their givers' (the counts are public on the post)",
    "forum_report.post_id": "who reported a post is withheld from its author (it protects reporters)",
    "forum_report.resolution_id": _DIRECT,
    "points_entry.record_id": _DIRECT,
    "points_entry.redemption_id": _DIRECT,
    "points_entry.transfer_id": _DIRECT,
    "points_transfer.help_request_id": _DIRECT,
    "service_record.sign_up_id": _DIRECT,
    "shift_swap.giver_sign_up_id": _DIRECT,
    "sms_outbox.notification_id": _DIRECT,
}

# The volunteer's own sealed columns are opened in profile.json (resolvers/privacy.py
# `_profile`); any other sealed column is opened, under the given name, in the rows whose
# owner column is the person (the address of their own help request, not of one they claimed).
PROFILE_SEALED = ("volunteer.phone_cipher", "volunteer.id_number_cipher",
                  "volunteer.home_address_cipher")
SEALED: dict[str, tuple[str, str, str]] = {
    "help_request.address_cipher": (pii.HELP_ADDRESS, "address", "created_by_id"),
}

# Rows that name the person without a foreign key: the changes reported to the national
# records system carry the volunteer number (resolvers/exchange.py).
BY_VOLUNTEER_NUMBER = ("record_change",)

# Columns never written: secrets and their hashes, ciphertexts (opened values are written
# instead), blind indexes and the archive bytes themselves.
_NEVER_EXPORTED = ("password_hash", "_cipher", "_index", "archive", "_hash")


def exportable(column: str) -> bool:
    return not any(part in column for part in _NEVER_EXPORTED)


def _models() -> list[type[Model]]:
    return list(Tortoise.apps["models"].values())


def _links(model: type[Model]) -> Iterator[tuple[str, type[Model]]]:
    """(column, target model) of each foreign key and one-to-one key of the model."""
    meta = model._meta
    for name in (*meta.fk_fields, *meta.o2o_fields):
        field: Any = meta.fields_map[name]
        yield field.source_field or f"{name}_id", field.related_model


def _owner_columns() -> dict[str, list[str]]:
    """Table → its OWN columns."""
    owned: dict[str, list[str]] = {}
    for key, kind in VOLUNTEER_LINKS.items():
        if kind == OWN:
            table, column = key.split(".")
            owned.setdefault(table, []).append(column)
    return owned


@dataclass(frozen=True)
class Section:
    """How one table's rows concerning the person are found: `where` on alias `t`, :person."""

    model: type[Model]
    where: str
    # Sealed column → (associated data, the name it is written under, owner column).
    sealed: dict[str, tuple[str, str, str]]


@lru_cache(maxsize=1)
def sections() -> tuple[Section, ...]:
    owned = _owner_columns()
    plan = []
    for model in _models():
        table = model._meta.db_table
        if model is Volunteer:
            continue
        where = []
        for column, target in _links(model):
            key = f"{table}.{column}"
            if target is Volunteer and VOLUNTEER_LINKS.get(key, OWN) in (OWN, DONE):
                where.append(f't."{column}" = :person')
            elif target is not Volunteer and target._meta.db_table in owned \
                    and key in THROUGH and THROUGH[key] is None:
                parent = target._meta
                mine = " OR ".join(f'p."{c}" = :person' for c in owned[parent.db_table])
                where.append(f't."{column}" IN (SELECT p."{parent.db_pk_column}" '
                             f'FROM "{parent.db_table}" p WHERE {mine})')
        if table in BY_VOLUNTEER_NUMBER:
            where.append('t."volunteer_number" = (SELECT v."volunteer_number" FROM "volunteer" v '
                         'WHERE v."id" = :person)')
        if where:
            sealed = {key.split(".")[1]: value for key, value in SEALED.items()
                      if key.split(".")[0] == table}
            plan.append(Section(model, " OR ".join(where), sealed))
    return tuple(plan)


def undeclared() -> list[str]:
    """What the models have and the declarations above do not (or the reverse): empty when
    every table is accounted for."""
    owned = _owner_columns()
    problems: list[str] = []
    seen_links: set[str] = set()
    seen_through: set[str] = set()
    sealed_columns: set[str] = set()
    for model in _models():
        table = model._meta.db_table
        for column, target in _links(model):
            key = f"{table}.{column}"
            if target is Volunteer:
                seen_links.add(key)
                if key not in VOLUNTEER_LINKS:
                    problems.append(f"{key}: names a volunteer; declare it in VOLUNTEER_LINKS")
            elif target._meta.db_table in owned:
                seen_through.add(key)
                if key not in THROUGH:
                    problems.append(f"{key}: points at a row of one person's "
                                    f"({target._meta.db_table}); declare it in THROUGH")
        sealed_columns |= {f"{table}.{column}" for column in model._meta.fields_db_projection.values()
                           if column.endswith("_cipher")}
    problems += [f"{key}: declared in VOLUNTEER_LINKS, no such foreign key"
                 for key in sorted(set(VOLUNTEER_LINKS) - seen_links)]
    problems += [f"{key}: declared in THROUGH, no such foreign key to a row of one person's"
                 for key in sorted(set(THROUGH) - seen_through)]
    problems += [f"{key}: sealed; open it for its owner in SEALED (or PROFILE_SEALED)"
                 for key in sorted(sealed_columns - set(SEALED) - set(PROFILE_SEALED))]
    return problems


def reader_of(section: Section, person: int) -> Callable[[dict[str, Any]], None]:
    """Replaces each sealed column of a row by its opened value when the row is the person's
    own (else drops it)."""

    def open_row(row: dict[str, Any]) -> None:
        for column, (associated, name, owner) in section.sealed.items():
            stored = row.pop(column, None)
            if row.get(owner) == person:
                try:
                    row[name] = pii.open_optional(stored, associated)
                except pii.PiiKeyError:
                    row[name] = None
    return open_row
