import httpx

from tests.helpers import make_volunteer, token_for

ME = "query Me { me { displayName phoneMasked } }"


async def test_me_over_http(live_server):
    # given
    person = await make_volunteer("王芳")
    # when
    async with httpx.AsyncClient() as client:
        response = await client.post(live_server.url, json={"query": ME},
                                     headers={"Authorization": f"Bearer {token_for(person)}"})
    # then
    assert response.status_code == 200
    assert response.json()["data"]["me"]["displayName"] == "王芳"
    assert response.json()["data"]["me"]["phoneMasked"] == person.phone[:3] + "****" + person.phone[7:]
