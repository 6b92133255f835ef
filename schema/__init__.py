"""The GraphQL schema: per-domain Query/Mutation/Subscription classes merged into one,
with the production protections (caches, limits, error codes) switched on."""

from __future__ import annotations

import functools
import os

from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.tools import merge_types

from core import tracing
from forum.schema import (
    Board,
    ExperiencePost,
    ForumMutation,
    ForumQuery,
    ForumSubscription,
    ModerationLog,
    Post,
    Report,
    Thread,
)
from schema.activity import (
    Activity,
    ActivityMutation,
    ActivityQuery,
    ActivitySubscription,
    SignUp,
    SlotCount,
)
from schema.attendance import AttendanceMutation
from schema.calendar import CalendarMutation, CalendarQuery
from schema.callout import CallOut, CallOutMutation, CallOutQuery, CallOutSubscription
from schema.chat import ChatMessage, ChatMutation, ChatQuery, ChatRoom, ChatSubscription
from schema.concealment import Concealment
from schema.consent import ConsentMutation, ConsentQuery
from schema.draft import DraftMutation, DraftQuery
from schema.errors import CodedSchema, OperationName
from schema.feed import FeedQuery
from schema.helprequest import (
    HelpRequest,
    HelpRequestMutation,
    HelpRequestQuery,
    HelpRequestSubscription,
)
from schema.honour import Announcement, Award, HonourMutation, HonourQuery, Nomination
from schema.hours import Certificate, HoursMutation, HoursQuery, ServiceRecord
from schema.importer import ImporterMutation, ImporterQuery
from schema.insurance import InsuranceMutation, InsuranceQuery
from schema.leaderboard import LeaderboardQuery
from schema.limits import InputGuard, describe_bounds
from schema.node import NodeQuery
from schema.notification import (
    Notification,
    NotificationMutation,
    NotificationQuery,
    NotificationSubscription,
)
from schema.offers import OfferMutation
from schema.outreach import OrganiserMessage, OutreachMutation, OutreachQuery
from schema.pii import PiiAccess, PiiQuery
from schema.prepared import DOCUMENTS_KEPT, PreparedOperations
from schema.privacy import PrivacyMutation, PrivacyQuery
from schema.project import Position, Project, ProjectMutation, ProjectQuery, ProjectSeries
from schema.reads.execute import CompiledReads
from schema.reminder import ReminderMutation, ReminderQuery
from schema.replica import ReplicaReads
from schema.servicedesk import (
    ServiceDeskMutation,
    ServiceDeskQuery,
    ServiceDeskSubscription,
    ServiceTicket,
    ServiceTicketMessage,
)
from schema.servicepoint import (
    Community,
    ServicePoint,
    ServicePointMutation,
    ServicePointQuery,
)
from schema.station import StationMutation, StationQuery
from schema.stats import StatsQuery
from schema.swap import ShiftSwap, SwapMutation, SwapQuery
from schema.team import Team, TeamMutation, TeamQuery
from schema.timebank import Redemption, RewardItem, TimebankMutation, TimebankQuery
from schema.training import (
    Assessment,
    AssessmentResult,
    Course,
    CourseEnrollment,
    Lesson,
    Qualification,
    TrainingMutation,
    TrainingQuery,
)
from schema.viewer import LoadViewer
from schema.volunteer import Volunteer, VolunteerMutation, VolunteerQuery

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000

QUERIES: tuple[type, ...] = (NodeQuery, VolunteerQuery, TeamQuery, NotificationQuery,
                             ActivityQuery, ForumQuery, DraftQuery, FeedQuery, HoursQuery,
                             HelpRequestQuery, CallOutQuery, LeaderboardQuery, StatsQuery,
                             TrainingQuery, ProjectQuery, ServicePointQuery, HonourQuery,
                             TimebankQuery, ChatQuery, ReminderQuery, CalendarQuery, SwapQuery,
                             OutreachQuery, PiiQuery,
                             PrivacyQuery, ConsentQuery, StationQuery, InsuranceQuery,
                             ServiceDeskQuery, ImporterQuery)
MUTATIONS: tuple[type, ...] = (VolunteerMutation, TeamMutation, NotificationMutation,
                               ActivityMutation, ForumMutation, DraftMutation, HoursMutation,
                               HelpRequestMutation, CallOutMutation, ImporterMutation,
                               TrainingMutation, ProjectMutation, ServicePointMutation,
                               HonourMutation, TimebankMutation, AttendanceMutation, OfferMutation,
                               ChatMutation, ReminderMutation, CalendarMutation,
                               SwapMutation, OutreachMutation, PrivacyMutation,
                               ConsentMutation, StationMutation, InsuranceMutation,
                               ServiceDeskMutation)
SUBSCRIPTIONS: tuple[type, ...] = (NotificationSubscription, ActivitySubscription,
                                   ForumSubscription, HelpRequestSubscription,
                                   CallOutSubscription, ChatSubscription,
                                   ServiceDeskSubscription)
EXTRA_TYPES: list[type] = [Volunteer, Team, Notification, Activity, SignUp, SlotCount,
                           Board, Thread, Post, Report, ModerationLog, ExperiencePost,
                           ServiceRecord, Certificate, HelpRequest, CallOut, Course, Lesson,
                           Assessment, CourseEnrollment, Qualification, AssessmentResult,
                           Project, Position, ProjectSeries, ServicePoint, Community,
                           Announcement, Award, Nomination,
                           RewardItem, Redemption, ChatRoom, ChatMessage, ShiftSwap, OrganiserMessage,
                           PiiAccess, ServiceTicket, ServiceTicketMessage]

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)
Subscription = merge_types("Subscription", SUBSCRIPTIONS) if SUBSCRIPTIONS else None

# Built once: ValidationCache keys on the rule classes, and strawberry's QueryDepthLimiter /
# MaxAliasesLimiter build new classes per instance, i.e. per request, so nothing would hit.
LIMIT_RULES: list[type[ASTValidationRule]] = [depth_rule(MAX_DEPTH, None), alias_rule(MAX_ALIASES)]


class QueryLimits(AddValidationRules):
    """Depth (≤ 10) and alias (≤ 30, fragments included) limits with cache-stable rules."""

    def __init__(self) -> None:
        super().__init__(LIMIT_RULES)


def build_schema(*, introspection: bool | None = None) -> CodedSchema:
    if introspection is None:
        introspection = os.environ.get("DISABLE_INTROSPECTION") != "1"
    extensions: list = [
        *tracing.schema_extensions(),  # first: the operation span covers the others
        OperationName,
        functools.partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        QueryLimits,
        functools.partial(ParserCache, maxsize=DOCUMENTS_KEPT),  # shared with built.prepared
        functools.partial(ValidationCache, maxsize=DOCUMENTS_KEPT),
        InputGuard,  # after ValidationCache: checks argument values of documents that validated
        LoadViewer,  # reads the viewer's account (on the primary) unless token-only
        ReplicaReads,  # DATABASE_READ_URL: replica-safe queries read the replica
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    built = CodedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=EXTRA_TYPES,
        extensions=extensions,
    )
    describe_bounds(built._schema)
    if not introspection:  # with introspection on, suggestions stay: GraphiQL users read them
        built.concealment = Concealment(built._schema)
    rules = [*LIMIT_RULES, *([] if introspection else [NoSchemaIntrospectionCustomRule])]
    built.prepared = PreparedOperations(built, max_tokens=MAX_TOKENS, rules=rules)
    if os.environ.get("COMPILED_READS") != "0":
        built.reads = CompiledReads()
    return built


_schema: CodedSchema | None = None


def __getattr__(name: str) -> CodedSchema:
    """`schema`: the default build, made on first use. The server builds its own in
    create_app; building this one at import too cost every process ~0.2 s of CPU."""
    global _schema
    if name != "schema":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _schema is None:
        _schema = build_schema()
    return _schema


__all__ = ["build_schema", "schema"]
