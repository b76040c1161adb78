"""``tcdyn demo``: a tour of tcdyn against an embedded local deployment (no internet).

The deployment serves the bundled references on loopback, checks every Hawk signature,
certificate and bewit, and runs the in-memory queue of ``tcdyn.testing.queue`` (each run's
live log on a loopback storage host).
"""

from __future__ import annotations

import asyncio
import inspect
import textwrap
from datetime import timedelta

import httpx

import tcdyn
from tcdyn.testing.auth import ClientRecord
from tcdyn.testing.objects import Storage
from tcdyn.testing.queue import InMemoryQueue
from tcdyn.testing.server import LocalDeployment

ACCESS_TOKEN = "demo-token-not-a-real-secret"


def say(title: str) -> None:
    print(f"\n== {title}")


def show(label: str, value: object) -> None:
    text = textwrap.shorten(str(value), 150, placeholder=" ...")
    print(f"   {label:<28} {text}")


def main() -> int:
    clients = {"demo/owner": ClientRecord(ACCESS_TOKEN, ("queue:*", "auth:*",
                                                        "assume:project:demo"))}
    with Storage() as storage, LocalDeployment(clients=clients) as deployment:
        InMemoryQueue(storage, live_log=True).install(deployment)
        root = deployment.root_url
        print(f"A local Taskcluster deployment is serving at {root} "
              "(bundled references, Hawk checked).")
        creds = tcdyn.Credentials("demo/owner", ACCESS_TOKEN)

        say("Classes built at run time from the references")
        show("tcdyn.Queue", tcdyn.Queue)
        show("signature of createTask", inspect.signature(tcdyn.Queue.createTask))
        show("help(Queue.createTask)", tcdyn.Queue.createTask.__doc__.splitlines()[0])
        queue = tcdyn.Queue(rootUrl=root, credentials=creds)
        show("client", queue)

        say("Calls, signed with Hawk and checked by the server")
        group = tcdyn.slugId()
        task_ids = [tcdyn.slugId() for _ in range(5)]
        for task_id in task_ids:
            queue.createTask(task_id, {
                "taskGroupId": group, "provisionerId": "demo", "workerType": "demo",
                "created": tcdyn.fromNow("0 seconds"), "deadline": tcdyn.fromNow("1 day"),
                "payload": {}, "metadata": {"name": "demo", "description": "a demo task",
                                            "owner": "demo@example.com",
                                            "source": "https://example.com"}})
        show("createTask x5, task()", queue.task(task_ids[0])["metadata"])
        pages = list(queue.listTaskGroup.pages(group, query={"limit": 2}))
        show("listTaskGroup pages", [len(p["tasks"]) for p in pages])
        items = list(queue.listTaskGroup.items(group, query={"limit": 2}, max_items=3))
        show("listTaskGroup.items(max_items=3)", [i["status"]["taskId"] for i in items])
        show("getLatestArtifact (303 body)", queue.getLatestArtifact(task_ids[0],
                                                                     "public/logs/live.log"))
        content = queue.latestArtifact(task_ids[0], "public/logs/live.log")
        assert "url" in content  # the live log is a reference artifact: a URL
        log = httpx.get(content["url"])
        show("its live log", log.text.strip())

        say("Errors name the problem, before anything is sent when they can")
        for label, call in (
            ("missing argument", lambda: queue.task()),  # type: ignore
            ("unknown query name", lambda: queue.listTaskGroup(group, query={"limt": 1})),
            ("unknown task", lambda: queue.task("doesNotExist")),
            ("wrong token", lambda: tcdyn.Queue(rootUrl=root, credentials={
                "clientId": "demo/owner", "accessToken": "wrong"}).task(task_ids[0])),
        ):
            try:
                call()
            except (TypeError, tcdyn.TaskclusterFailure) as exc:
                show(label, f"{type(exc).__name__}: {exc}")

        say("Temporary credentials, authorized scopes, signed URLs")
        temp = creds.create_temporary(scopes=["queue:get-task:*", "queue:list-task-group:*"],
                                      expiry=timedelta(hours=1))
        show("temporary credentials", temp)
        narrowed = temp.with_authorized_scopes(["queue:get-task:*"])
        show("task() with them", tcdyn.Queue(rootUrl=root, credentials=narrowed)
             .task(task_ids[1])["metadata"]["name"])
        url = queue.buildSignedUrl("task", task_ids[2], expiration=60)
        show("buildSignedUrl", url.split("bewit=")[0] + "bewit=...")
        show("GET it with no credentials", httpx.get(url).json()["metadata"]["owner"])

        say("The same methods, async")

        async def concurrently() -> list[str]:
            async with tcdyn.aio.Queue(rootUrl=root, credentials=creds) as aqueue:
                answers = await asyncio.gather(*(aqueue.status(t) for t in task_ids))
            return [a["status"]["state"] for a in answers]

        show("5 status() calls at once", asyncio.run(concurrently()))

        say("Exchanges: routing-key bindings for Pulse")
        binding = tcdyn.QueueEvents().taskCompleted(taskGroupId=group)
        show("exchange", binding.exchange)
        show("routingKeyPattern", binding.routingKeyPattern)

        say("Any deployment's own API: tcdyn.load(rootUrl)")
        tc = tcdyn.load(root, refresh=True)
        show("tcdyn.load(root)", tc)
        show("its Queue", tc.Queue(credentials=creds).task(task_ids[3])["taskGroupId"] == group)
    print("\nDone: every request above went over HTTP to the local deployment.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
