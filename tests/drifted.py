"""A reference set that has moved on from the bundled v106 one as later releases did
(v107+): the five auth Azure methods and their schemas gone, ``queue.taskQueueCountsBatch``
and its schemas added, a github exchange added, a query name added to
``queue.listTaskGroup`` and a changed ``queue/v1/task.json``. (The bundled v106 set has no
``queue.declareProvisioner``/``declareWorkerType`` to remove: v106 deployments no longer
publish them.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tcdyn.references import bundled_dir

AZURE = ("azureAccounts", "azureTables", "azureTableSAS", "azureContainers",
         "azureContainerSAS")
AZURE_SCHEMAS = ("azure-account-list-response.json", "azure-table-list-response.json",
                 "azure-table-access-response.json", "azure-container-list-response.json",
                 "azure-container-response.json")
COUNTS_SCHEMAS = ("task-queue-counts-batch-request.json",
                  "task-queue-counts-batch-response.json")


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def make(target: Path) -> Path:
    """The drifted mirror, written into ``target`` (a new directory)."""
    shutil.copytree(bundled_dir(), target)
    refs, schemas = target / "references", target / "schemas"

    def auth(doc):
        doc["entries"] = [e for e in doc["entries"] if e["name"] not in AZURE]

    def queue(doc):
        for entry in doc["entries"]:
            if entry["name"] == "listTaskGroup":
                entry["query"] = [*entry["query"], "state"]
        doc["entries"].append({
            "type": "function", "method": "post", "route": "/task-queues/counts",
            "name": "taskQueueCountsBatch", "stability": "experimental", "args": [],
            "query": [], "category": "Worker Interface", "title": "Task Queue Counts",
            "description": "Pending and claimed counts of several task queues.",
            "scopes": {"AllOf": [{"for": "taskQueueId", "in": "taskQueueIds",
                                  "each": "queue:pending-count:<taskQueueId>"}]},
            "input": f"v1/{COUNTS_SCHEMAS[0]}#", "output": f"v1/{COUNTS_SCHEMAS[1]}#"})

    def github(doc):
        template = dict(doc["entries"][0])
        template.update(name="issueComment", exchange="issue-comment",
                        title="GitHub Issue Comment Event",
                        schema="v1/github-issue-comment-message.json#")
        doc["entries"].append(template)

    _edit(refs / "auth" / "v1" / "api.json", auth)
    _edit(refs / "queue" / "v1" / "api.json", queue)
    _edit(refs / "github" / "v1" / "exchanges.json", github)
    _edit(schemas / "queue" / "v1" / "task.json",
          lambda doc: doc.update(title=doc["title"] + " (v107)"))
    for name in AZURE_SCHEMAS:
        (schemas / "auth" / "v1" / name).unlink()
    for name, body in zip(COUNTS_SCHEMAS, (
            {"type": "object", "properties": {"taskQueueIds": {
                "type": "array", "items": {"type": "string"}}},
             "required": ["taskQueueIds"], "additionalProperties": False},
            {"type": "object", "properties": {"counts": {"type": "array"}},
             "required": ["counts"]}), strict=True):
        (schemas / "queue" / "v1" / name).write_text(json.dumps({
            "$schema": "/schemas/common/metaschema.json#",
            "$id": f"/schemas/queue/v1/{name}#", **body}))
    (schemas / "github" / "v1" / "github-issue-comment-message.json").write_text(json.dumps({
        "$schema": "/schemas/common/metaschema.json#",
        "$id": "/schemas/github/v1/github-issue-comment-message.json#", "type": "object"}))
    return target
