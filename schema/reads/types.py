"""How the compiled types read from SQL, field by field (GraphQL names; the types themselves,
their arguments and descriptions are the strawberry types in schema/activity.py, team.py and
volunteer.py). Each entry is the SQL twin of that field's resolver or `from_model` line; the
property test (tests/reads) runs both paths on the same data and viewers.

`approvedHours` and `starLevel` are finished in Python (InPython): Python rounds the float
(`round(x, 2)`) where PostgreSQL's numeric rounding of the same double can differ in the last
digit, and the star thresholds are deployment settings.

Not declared, so not compiled (the root field runs on the general executor): an activity's
project, position, service point, experience posts and sign-up list, waitlist positions, a
sign-up's volunteer, a team's activities, members, applicants and children, and most of a
volunteer's lists (service records, sign-ups, points statement, courses, qualifications).
"""

from __future__ import annotations

from datetime import date

from core import pii
from forum.schema import THREAD_ORDER
from resolvers.consent import minors_notice_for
from resolvers.hours import star_level
from resolvers.validation import mask_address, mask_id_number, mask_phone
from schema.reads.declare import (
    Children,
    Count,
    Embedded,
    InPython,
    Kind,
    Managing,
    Moderating,
    Personal,
    RecordedRead,
    ToOne,
    Value,
    ViewersOwn,
    readable,
    same,
)
from schema.relay import NEWEST_FIRST


def _hours(text: str) -> float:
    return round(float(text), 2)


def _minors_notice(birth_date: str) -> str | None:
    return minors_notice_for(date.fromisoformat(birth_date))


def _star_level(text: str) -> int:
    return star_level(float(text))


def _phone(sealed: str) -> str:
    return pii.open_sealed(sealed, pii.PHONE)


def _phone_masked(sealed: str) -> str:
    return mask_phone(pii.open_sealed(sealed, pii.PHONE))


def _home_address(sealed: str) -> str:
    return pii.open_sealed(sealed, pii.HOME_ADDRESS)


def _home_address_masked(sealed: str) -> str:
    return mask_address(pii.open_sealed(sealed, pii.HOME_ADDRESS))


def _id_number_masked(sealed: str) -> str:
    return mask_id_number(pii.open_sealed(sealed, pii.ID_NUMBER))


readable("Activity", "activity", {
    **same(Kind.TEXT, "title", "description", "category", "district", "address", "status",
           "cancel_reason"),
    **same(Kind.FLOAT, "latitude", "longitude", "hours_credit"),
    **same(Kind.DATETIME, "starts_at", "ends_at", "sign_up_deadline", "created_at",
           "published_at"),
    **same(Kind.INT, "capacity", "offered_count", "waitlist_count", "waitlist_limit"),
    # Held offers are counted in taken_count (the places taken), not shown as confirmed.
    "confirmedCount": Value("{t}.taken_count - {t}.offered_count", Kind.INT),
    "remaining": Value("CASE WHEN {t}.status = 'PUBLISHED' THEN greatest(0, {t}.capacity - "
                       "{t}.taken_count) ELSE 0 END", Kind.INT),
    "skills": Value.column("skills", Kind.TAGS),
    "team": ToOne("Team", "team", "team_id"),
    "checkInCode": Managing("team_id", Value.column("check_in_code")),
    "viewerCanManage": Managing("team_id"),
    "mySignUp": ViewersOwn("SignUp", "sign_up", "activity_id"),
    "requirements": Embedded("ActivityRequirements"),
})

# schema/training.py activity_requirements: nothing unless the activity has requirements;
# names in name order (resolvers/requirements.py requirements_of).
readable("ActivityRequirements", "activity", {
    "qualifications": Value("CASE WHEN {t}.has_requirements THEN (SELECT coalesce(json_agg("
                            "q.name ORDER BY q.name), '[]'::json) FROM activity_qualification q "
                            "WHERE q.activity_id = {t}.id) ELSE '[]'::json END"),
    "minimumAge": Value("CASE WHEN {t}.has_requirements THEN {t}.minimum_age END", Kind.INT),
})

readable("SignUp", "sign_up", {
    **same(Kind.TEXT, "status"),
    **same(Kind.DATETIME, "offer_expires_at", "created_at", "checked_in_at", "checked_out_at"),
    "activity": ToOne("Activity", "activity", "activity_id"),
})

readable("Team", "team", {
    **same(Kind.TEXT, "name", "type", "district"),
    "parent": ToOne("Team", "team", "parent_id"),
    "approvedHours": InPython("{t}.approved_hours", _hours),
    "memberCount": Count("membership", "team_id", "{c}.status = 'APPROVED'"),
    # resolvers/team.py is_team_admin: admins of the team or an ancestor, platform admins.
    "viewerIsAdmin": Managing("id"),
    # schema/team.py _member_page (approved members, by membership) and schema/activity.py
    # team_activities (newest first; drafts only for those who may manage the team).
    "members": Children("Volunteer", "membership", "team_id", "{c}.status = 'APPROVED'",
                        node_table="volunteer", node_column="volunteer_id"),
    "activities": Children("Activity", "activity", "team_id", "{c}.status <> 'DRAFT'",
                           order=NEWEST_FIRST, unless_managing="id"),
})

readable("Volunteer", "volunteer", {
    **same(Kind.TEXT, "display_name", "district", "volunteer_number"),
    "skills": Value.column("skills", Kind.TAGS),
    "isPlatformAdmin": Value.column("is_platform_admin", Kind.BOOL),
    "approvedHours": InPython("{t}.approved_hours", _hours),
    "starLevel": InPython("{t}.approved_hours", _star_level),
    # resolvers/hours.py points_balances: the ledger's sum, public.
    "points": Value("(SELECT coalesce(sum(entry.delta), 0) FROM points_entry entry "
                    "WHERE entry.volunteer_id = {t}.id)", Kind.INT),
    # resolvers/validation.py mask_phone / mask_id_number; resolvers/volunteer.py can_see_pii.
    # Sealed at rest (core/pii.py): the database reads the ciphertext, Python opens and masks.
    "phone": Personal(InPython("{t}.phone_cipher", _phone), self_only=True),
    "phoneMasked": Personal(InPython("{t}.phone_cipher", _phone_masked)),
    "idNumberMasked": Personal(InPython("{t}.id_number_cipher", _id_number_masked)),
    "homeAddress": Personal(InPython("{t}.home_address_cipher", _home_address), self_only=True),
    "homeAddressMasked": Personal(InPython("{t}.home_address_cipher", _home_address_masked)),
    "gender": Personal(Value.column("gender")),
    "birthYear": Personal(Value("extract(year FROM {t}.birth_date)::int", Kind.INT)),
    "accountStatus": Personal(Value.column("status")),
    # schema/volunteer.py: the unmasked reads a platform admin makes about someone else are
    # recorded, so they stay on the general path; null for everyone else.
    "contactPhone": RecordedRead(),
    "identityNumber": RecordedRead(),
    "contactAddress": RecordedRead(),
    # resolvers/consent.py minors_notice (today's age in Beijing), the volunteer themself only.
    "minorsNotice": Personal(InPython("{t}.birth_date", _minors_notice), self_only=True),
    # schema/pii.py reads_about: who read the volunteer's data, newest first; asked about
    # anyone but oneself, the general path answers (FORBIDDEN, or a platform admin's page).
    "piiAccessLog": Children("PiiAccess", "pii_access", "subject_id", order=NEWEST_FIRST,
                             self_only=True),
    "teams": Children("Team", "membership", "volunteer_id", "{c}.status = 'APPROVED'",
                      node_table="team", node_column="team_id"),
    # schema/activity.py SignUp.of_volunteer: newest first, the volunteer themself only.
    "signUps": Children("SignUp", "sign_up", "volunteer_id", order=NEWEST_FIRST,
                        self_only=True),
})

# schema/servicepoint.py ServicePoint. `distance_json` and `walking_json` are JSON columns the
# `servicePoints` reader adds to the row (schema/reads/roots.py): with `near`, the distance
# rounded to 0.1 m as resolvers/servicepoint.py `near_distance` rounds it and the walking
# minutes as ServicePoint.walking_minutes rounds them, written as json.dumps writes them;
# else null.
readable("ServicePoint", "service_point", {
    **same(Kind.TEXT, "name", "kind", "district", "address", "opening_hours"),
    **same(Kind.FLOAT, "latitude", "longitude"),
    "distanceMetres": Value.column("distance_json"),
    "walkingMinutes": Value.column("walking_json"),
    "team": ToOne("Team", "team", "team_id"),
})

# The feed's item types (schema/feed.py `FeedItem`), as their from_model and author/thread/
# team resolvers give them; what a type does not declare here (HelpRequest's sealed address,
# its claims and service point, a post's reactions) keeps `feed` on the general executor.
readable("Post", "forum_post", {
    **same(Kind.TEXT, "body"),
    **same(Kind.BOOL, "hidden", "is_opening"),
    **same(Kind.DATETIME, "created_at"),
    "thread": ToOne("Thread", "forum_thread", "thread_id"),
    "author": ToOne("Volunteer", "volunteer", "author_id"),
})

readable("ExperiencePost", "experience_post", {
    **same(Kind.TEXT, "title", "body"),
    **same(Kind.DATETIME, "created_at"),
    "photoUrls": Value("coalesce(({t}.photo_urls)::json, '[]'::json)"),
    "activity": ToOne("Activity", "activity", "activity_id"),
    "author": ToOne("Volunteer", "volunteer", "author_id"),
})

readable("HelpRequest", "help_request", {
    **same(Kind.TEXT, "title", "description", "district", "urgency", "status"),
    **same(Kind.FLOAT, "latitude", "longitude"),
    **same(Kind.DATETIME, "created_at", "resolved_at"),
    "skills": Value.column("skills", Kind.TAGS),
    "author": ToOne("Volunteer", "volunteer", "created_by_id"),
})

readable("Announcement", "announcement", {
    **same(Kind.TEXT, "title", "body", "status"),
    **same(Kind.BOOL, "pinned"),
    **same(Kind.DATETIME, "published_at"),
    "attachments": Value("coalesce(({t}.attachments)::json, '[]'::json)"),
    "team": ToOne("Team", "team", "team_id"),
    "author": ToOne("Volunteer", "volunteer", "author_id"),
})

# forum/schema.py Board and Thread: hidden threads only for the board's moderators.
readable("Board", "forum_board", {
    **same(Kind.TEXT, "slug", "name", "description", "category"),
    "threadCount": Count("forum_thread", "board_id", "{c}.hidden = FALSE"),
    "viewerIsModerator": Moderating("id"),
    "threads": Children("Thread", "forum_thread", "board_id", "{c}.hidden = FALSE",
                        order=THREAD_ORDER, kinds=(Kind.BOOL, Kind.DATETIME, Kind.INT),
                        unless_moderating="id"),
})

readable("Thread", "forum_thread", {
    **same(Kind.TEXT, "title"),
    **same(Kind.BOOL, "pinned", "locked", "hidden"),
    **same(Kind.DATETIME, "created_at", "last_post_at"),
    **same(Kind.INT, "reply_count"),
    "author": ToOne("Volunteer", "volunteer", "author_id"),
    "board": ToOne("Board", "forum_board", "board_id"),
})

# schema/pii.py PiiAccess; `clientAddress` (platform admins only) is not declared.
readable("PiiAccess", "pii_access", {
    **same(Kind.TEXT, "field", "reason"),
    **same(Kind.DATETIME, "created_at"),
    "viewer": ToOne("Volunteer", "volunteer", "viewer_id"),
    "subject": ToOne("Volunteer", "volunteer", "subject_id"),
})
