from models.calendar import ActivityChange, CalendarFeed
from models.outreach import OrganiserMessage, OrganiserMessageReply
from models.reminder import ReminderPreference
from models.swap import ShiftSwap, SwapPolicy, SwapStatus
from resolvers.demo import seed_demo


async def test_demo_has_care_data(db):
    # when
    assert await seed_demo() is True
    # then
    assert await ShiftSwap.filter(status=SwapStatus.OPEN).count() == 2
    assert await ShiftSwap.filter(receiver_id=None).count() == 1
    assert await SwapPolicy.filter(needs_approval=True).count() == 1
    assert await ActivityChange.filter(field="address").count() == 1
    assert await CalendarFeed.filter(revoked_at=None).count() == 1
    assert (await ReminderPreference.get()).muted_offsets == "120"
    message = await OrganiserMessage.get()
    assert message.recipient_count >= 1 and await OrganiserMessageReply.filter(
        message_id=message.id).count() == 1
