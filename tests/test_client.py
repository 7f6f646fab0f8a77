"""The client fixtures: per-request cookies, and the app's own client class respected."""


def test_per_request_cookies_are_sent_once(shop):
    result = shop.run(
        test_cookies="""
def test_cookie_for_one_request(client):
    assert client.get("/cookies", cookies={"token": "abc"}).json == {"token": "abc"}
    assert client.get("/cookies").json == {}

def test_cookie_jar_is_restored(client):
    client.set_cookie("token", "jar")
    assert client.get("/cookies", cookies={"token": "once"}).json == {"token": "once"}
    assert client.get("/cookies").json == {"token": "jar"}
"""
    )
    result.assert_outcomes(passed=2)
