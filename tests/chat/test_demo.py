from models.chat import ChatMessage, ChatModerationLog, ChatRoom
from models.notification import Notification
from resolvers.chat import CHAT_MENTION
from resolvers.demo import seed_demo


async def test_demo_has_a_team_room_with_talk_a_mention_and_a_deleted_message(db):
    assert await seed_demo() is True
    team_room = await ChatRoom.get(team_id__isnull=False)
    assert await ChatMessage.filter(room_id=team_room.id, deleted=False).count() == 5
    assert await ChatModerationLog.filter(room_id=team_room.id).count() == 1
    assert await Notification.filter(kind=CHAT_MENTION).count() == 1
    assert await ChatRoom.filter(activity_id__isnull=False).count() == 1
