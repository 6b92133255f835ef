"""Every channel name in one place, so publishers and subscribers cannot drift apart.

All names start with NAMESPACE (env TONGXIN_NAMESPACE, default "tx") so several deployments
or test runs can share one Redis without hearing each other."""

import os

NAMESPACE = os.environ.get("TONGXIN_NAMESPACE", "tx")


def slots(activity_id: int) -> str:
    return f"{NAMESPACE}:slots:{activity_id}"


def notifications(volunteer_id: int) -> str:
    return f"{NAMESPACE}:notify:{volunteer_id}"


def help_requests() -> str:
    return f"{NAMESPACE}:help-requests"


def call_outs() -> str:
    return f"{NAMESPACE}:call-outs"


def board(board_id: int) -> str:
    return f"{NAMESPACE}:board:{board_id}"


def chat_room(room_id: int) -> str:
    return f"{NAMESPACE}:chat:{room_id}"


def consent(volunteer_id: int) -> str:
    """A person's consent changes, so live subscriptions stop using what was withdrawn."""
    return f"{NAMESPACE}:consent:{volunteer_id}"


def service_ticket(ticket_id: int) -> str:
    """A service-desk ticket's new messages and status changes."""
    return f"{NAMESPACE}:ticket:{ticket_id}"
