"""The dashboard's HTTP side on a real in-process cluster: every route answers, the JSON
API and /metrics agree with the computation, the websocket pushes live updates, the
secret is enforced and nothing from the cluster reaches a page as markup."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest

pytest.importorskip("bokeh")
prom_parser = pytest.importorskip("prometheus_client.parser")

from plait.distributed import Client, LocalCluster


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as c, Client(c) as client:
        futures = client.map(lambda x: x + 1, range(20), key=[f"inc-{i:08x}" for i in range(20)])
        total = client.submit(sum, futures, key="total-0000ffff")
        assert total.result() == sum(range(1, 21))
        yield c, client, futures, total


def base(cluster) -> str:
    c, client, *_ = cluster
    link = client.dashboard_link
    assert link and link.startswith("http://127.0.0.1:")
    return link.rsplit("/", 1)[0] if link.endswith("/status") else link


def test_links(cluster):
    c, client, *_ = cluster
    assert c.dashboard_link.endswith("/status")
    assert client.dashboard_link == c.dashboard_link
    assert c.dashboard_link in client._repr_html_()
    assert c.dashboard_link in c._repr_html_()


@pytest.mark.parametrize("page", ["status", "workers", "graph", "profile", "info"])
def test_pages_are_served_with_bokeh_from_the_package(cluster, page):
    status, headers, body = get(f"{base(cluster)}/{page}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    text = body.decode()
    assert "statics/bokeh/js/bokeh.min.js" in text and "cdn" not in text.lower()
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    status, _, js = get(f"{base(cluster)}/statics/bokeh/js/bokeh.min.js")
    assert status == 200 and len(js) > 100_000


def test_health_and_unknown_route(cluster):
    assert get(f"{base(cluster)}/health")[2] == b"ok"
    assert get(f"{base(cluster)}/nope")[0] == 404
    assert get(f"{base(cluster)}/api/v1/nope")[0] == 404


def test_api_agrees_with_the_computation(cluster):
    b = base(cluster)
    workers = json.loads(get(f"{b}/api/v1/workers")[2])["workers"]
    assert len(workers) == 2 and {w["nthreads"] for w in workers} == {1}
    progress = json.loads(get(f"{b}/api/v1/progress")[2])["progress"]
    assert progress["inc"]["done"] == 20 and progress["inc"]["memory"] == 20
    assert progress["total"]["done"] == 1
    stream = json.loads(get(f"{b}/api/v1/task-stream?since=0")[2])
    keys = {r["key"] for r in stream["rows"]}
    assert {f"inc-{i:08x}" for i in range(20)} <= keys
    assert all(r["stop"] >= r["start"] and r["worker"] for r in stream["rows"])
    tasks = json.loads(get(f"{b}/api/v1/tasks?state=memory")[2])["tasks"]
    assert len(tasks) == 21
    graph = json.loads(get(f"{b}/api/v1/graph")[2])
    assert len(graph["nodes"]["key"]) == 21 and len(graph["edges"]["xs"]) == 20


def test_metrics_parse(cluster):
    status, headers, body = get(f"{base(cluster)}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in prom_parser.text_string_to_metric_families(body.decode())}
    assert families["plait_scheduler_workers"].samples[0].value == 2
    by_state = {s.labels["state"]: s.value for s in families["plait_scheduler_tasks"].samples}
    assert by_state["memory"] == 21
    assert {s.labels["prefix"]: s.value
            for s in families["plait_scheduler_tasks_completed"].samples}["inc"] == 20
    assert len(families["plait_worker_memory_bytes"].samples) == 6


def _ws_messages(url: str, n: int, send: dict | None = None) -> list[dict]:
    import tornado.websocket

    async def main():
        conn = await asyncio.wait_for(tornado.websocket.websocket_connect(url), 10)
        if send is not None:
            await conn.write_message(json.dumps(send))
        out = []
        for _ in range(n):
            msg = await asyncio.wait_for(conn.read_message(), 10)
            assert msg is not None, "the dashboard closed the websocket"
            out.append(json.loads(msg))
        conn.close()
        return out

    return asyncio.run(main())


def test_websocket_pushes_status_updates_at_least_once_a_second(cluster):
    url = base(cluster).replace("http://", "ws://") + "/ws?page=status"
    msgs = _ws_messages(url, 3)
    assert msgs[-1]["time"] - msgs[0]["time"] < 2.5  # 3 messages, at most ~1 s apart
    names = [f["name"] for f in msgs[0]["figures"]]
    assert names == ["task-stream", "progress", "memory", "processing", "cpu"]
    stream = msgs[0]["figures"][0]
    assert stream["stream"] and len(stream["rects"]["left"]) >= 21  # all rows, first time
    # then only new rows: no task ran since, so at most transfers a heartbeat reported
    assert set(msgs[1]["figures"][0]["rects"]["label"]) <= {"transfer"}
    assert set(msgs[2]["figures"][0]["rects"]["label"]) <= {"transfer"}
    assert msgs[0]["summary"]["workers"] == 2
    assert msgs[0]["progress"]["inc"]["done"] == 20


@pytest.mark.parametrize("page", ["workers", "graph", "info", "profile"])
def test_websocket_other_pages(cluster, page):
    url = base(cluster).replace("http://", "ws://") + f"/ws?page={page}"
    msg = _ws_messages(url, 1, send={"prefix": "inc"})[0]
    if page == "workers":
        assert len(msg["workers"]) == 2
    elif page == "graph":
        assert len(msg["graph"]["nodes"]["key"]) == 21 and "edges" in msg["graph"]
    elif page == "info":
        assert msg["info"]["scheduler"]["workers"] == 2
        assert isinstance(msg["info"]["logs"], list)
    else:
        assert msg["figures"][0]["name"] == "flame"
        assert isinstance(msg["profile"]["prefixes"], list)


def test_unknown_page_closes_websocket(cluster):
    import tornado.websocket

    async def main():
        conn = await tornado.websocket.websocket_connect(
            base(cluster).replace("http://", "ws://") + "/ws?page=%3Cscript%3E")
        return await asyncio.wait_for(conn.read_message(), 10)

    assert asyncio.run(main()) is None


def test_cross_origin_websocket_is_refused(cluster):
    import tornado.httpclient
    import tornado.websocket

    async def main():
        req = tornado.httpclient.HTTPRequest(
            base(cluster).replace("http://", "ws://") + "/ws?page=status",
            headers={"Origin": "http://evil.example"})
        await tornado.websocket.websocket_connect(req)

    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        asyncio.run(main())
    assert info.value.code == 403


def test_secret_guards_every_route_but_health():
    import http.cookiejar

    from plait.distributed import Security

    secret = "dashboard-test-secret"
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0",
                      security=Security(secret=secret)) as c:
        b = c.dashboard_link.rsplit("/", 1)[0]
        assert get(f"{b}/health")[0] == 200
        for path in ("/status", "/metrics", "/api/v1/workers", "/info"):
            status, _, body = get(b + path)
            assert status == 401 and b"secret" in body, path
        assert get(f"{b}/metrics", {"Authorization": "Bearer wrong"})[0] == 401
        assert get(f"{b}/metrics", {"Authorization": f"Bearer {secret}"})[0] == 200
        # ?token= once, then the cookie (an HMAC of the secret, not the secret) is enough
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(f"{b}/status?token={secret}", timeout=10) as r:
            assert r.status == 200
        assert [ck.value for ck in jar] and all(secret not in ck.value for ck in jar)
        with opener.open(f"{b}/api/v1/workers", timeout=10) as r:
            assert len(json.loads(r.read())["workers"]) == 1
        import tornado.httpclient
        import tornado.websocket

        async def ws():
            await tornado.websocket.websocket_connect(
                b.replace("http://", "ws://") + "/ws?page=status")

        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            asyncio.run(ws())
        assert info.value.code == 401


def test_markup_in_keys_stays_data_in_the_api(cluster):
    c, client, *_ = cluster
    key = '<script>alert(1)</script>-0123abcd'
    future = client.submit(lambda: 1, key=key)
    assert future.result() == 1
    tasks = json.loads(get(f"{base(cluster)}/api/v1/tasks?state=memory")[2])["tasks"]
    assert key in {t["key"] for t in tasks}
    for page in ("status", "graph", "info"):
        assert b"<script>alert" not in get(f"{base(cluster)}/{page}")[2]
    del future


def test_dashboard_speaks_https_with_the_clusters_certificate():
    import ssl

    from plait.distributed import Security

    sec = Security.temporary()
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0",
                      security=sec) as c:
        link = c.dashboard_link
        assert link.startswith("https://127.0.0.1:")
        base_url = link.rsplit("/", 1)[0]
        # a browser's view: trusts the cluster's CA, has no client certificate
        if sec.tls_ca_file.lstrip().startswith("-----"):
            context = ssl.create_default_context(cadata=sec.tls_ca_file)
        else:
            context = ssl.create_default_context(cafile=sec.tls_ca_file)
        context.check_hostname = False
        with urllib.request.urlopen(f"{base_url}/health", timeout=10, context=context) as r:
            assert r.read() == b"ok"
        with urllib.request.urlopen(f"{base_url}/api/v1/workers", timeout=10,
                                    context=context) as r:
            assert len(json.loads(r.read())["workers"]) == 1
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # no plain HTTP
            urllib.request.urlopen(base_url.replace("https://", "http://") + "/health",
                                   timeout=10)
