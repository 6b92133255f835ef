from models.servicedesk import ServiceTicket, ServiceTicketMessage, TicketStatus
from resolvers.demo import seed_demo


async def test_demo_has_an_answered_a_waiting_and_a_resolved_ticket(db):
    assert await seed_demo() is True
    tickets = await ServiceTicket.all().order_by("id")
    assert [ticket.status for ticket in tickets] == [
        TicketStatus.WAITING_FOR_USER, TicketStatus.OPEN, TicketStatus.RESOLVED]
    assert tickets[1].team_id is not None and tickets[2].requester_team_id is not None
    assert await ServiceTicketMessage.filter(from_staff=True).count() == 2
