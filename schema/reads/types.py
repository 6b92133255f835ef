"""How the compiled types read from SQL, field by field (GraphQL names; the types themselves,
their arguments and descriptions are the strawberry types in schema/activity.py, team.py and
volunteer.py). Each entry is the SQL twin of that field's resolver or `from_model` line; the
property test (tests/reads) runs both paths on the same data and viewers.

Not declared, so not compiled (the root field runs on the general executor):
- `approvedHours`: Python rounds the float (`round(x, 2)`), PostgreSQL's numeric rounding
  of the same double can differ in the last digit;
- `starLevel`, requirements, project, position, service point, experience posts, sign-up
  lists, waitlist positions, a team's activities/members/children: rules not (yet) written
  as SQL here.
"""

from __future__ import annotations

from schema.reads.declare import (
    Children,
    Count,
    Kind,
    Managing,
    Personal,
    ToOne,
    Value,
    ViewersOwn,
    readable,
    same,
)

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
})

readable("SignUp", "sign_up", {
    **same(Kind.TEXT, "status"),
    **same(Kind.DATETIME, "offer_expires_at", "created_at", "checked_in_at", "checked_out_at"),
    "activity": ToOne("Activity", "activity", "activity_id"),
})

readable("Team", "team", {
    **same(Kind.TEXT, "name", "type", "district"),
    "parent": ToOne("Team", "team", "parent_id"),
    "memberCount": Count("membership", "team_id", "{c}.status = 'APPROVED'"),
    # resolvers/team.py is_team_admin: admins of the team or an ancestor, platform admins.
    "viewerIsAdmin": Managing("id"),
})

readable("Volunteer", "volunteer", {
    **same(Kind.TEXT, "display_name", "district", "volunteer_number"),
    "skills": Value.column("skills", Kind.TAGS),
    "isPlatformAdmin": Value.column("is_platform_admin", Kind.BOOL),
    # resolvers/validation.py mask_phone / mask_id_number; resolvers/volunteer.py can_see_pii.
    "phone": Personal(Value.column("phone"), self_only=True),
    "phoneMasked": Personal(Value("left({t}.phone, 3) || '****' || substr({t}.phone, 8)")),
    "idNumberMasked": Personal(Value("left({t}.id_number, 6) || '********' || "
                                     "substr({t}.id_number, 15)")),
    "gender": Personal(Value.column("gender")),
    "birthYear": Personal(Value("extract(year FROM {t}.birth_date)::int", Kind.INT)),
    "accountStatus": Personal(Value.column("status")),
    "teams": Children("Team", "membership", "volunteer_id", "{c}.status = 'APPROVED'",
                      node_table="team", node_column="team_id"),
})
