"""``tcdyn references pull|list|diff`` and ``tcdyn demo``."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    from ..references.fetch import DEFAULT_LOAD_TIMEOUT

    sub.add_parser("demo", help="a tour against an embedded local deployment"
                   ).set_defaults(run=_demo)
    refs = sub.add_parser("references", help="mirror or inspect references")
    refs_sub = refs.add_subparsers(dest="action", required=True, metavar="ACTION")
    pull_p = refs_sub.add_parser("pull", help="mirror a deployment's references and schemas")
    pull_p.add_argument("root_url")
    pull_p.add_argument("dir", help="a new or empty directory, or an earlier mirror")
    pull_p.set_defaults(run=_pull)
    list_p = refs_sub.add_parser("list", help="the classes a reference set builds")
    list_p.add_argument("source", nargs="?", help="rootUrl or directory (default: bundled)")
    list_p.set_defaults(run=_list)
    diff_p = refs_sub.add_parser(
        "diff", help="what a deployment's API adds, removes and changes against tcdyn's",
        description="List the methods, exchanges and schemas that the deployment's own "
        "references (fetched now) add, remove or change against the bundled ones (or "
        "--from). A method the deployment lacks answers 404 there: build clients from its "
        "own references with tcdyn.load(rootUrl).")
    diff_p.add_argument("--root-url", metavar="URL",
                        help="the deployment (default: $TASKCLUSTER_ROOT_URL, then the "
                             "config file)")
    diff_p.add_argument("--from", dest="from_", default="bundled", metavar="DIR|URL",
                        help="compare with these references: a mirror directory, a rootUrl "
                             "or 'bundled' (the default)")
    diff_p.add_argument("--json", action="store_true", help="one JSON document")
    diff_p.set_defaults(run=_diff)
    for p in (pull_p, list_p, diff_p):
        p.add_argument("--timeout", type=_seconds, default=DEFAULT_LOAD_TIMEOUT,
                       metavar="SECONDS",
                       help=f"give up fetching after this long (default {DEFAULT_LOAD_TIMEOUT:g})")


def _pull(args: argparse.Namespace) -> int:
    from ..errors import ReferenceLoadError
    from ..references import pull
    from ..references.index import ReferenceSet
    from .config import references_error
    from .output import show

    try:
        changes = pull(args.root_url, args.dir, timeout=args.timeout)
    except ReferenceLoadError as exc:
        raise references_error(args.root_url, exc) from None
    refs = ReferenceSet.from_directory(args.dir)
    schemas = sum(1 for p in refs.schemas_dir.rglob("*.json")) if refs.schemas_dir else 0
    show(f"mirrored {args.root_url} into {args.dir}: {len(refs.names())} services, "
         f"{schemas} schemas")
    for kind in ("added", "removed", "changed"):
        if changes[kind]:  # file names the deployment chose
            show(f"  {kind}: {len(changes[kind])}" + "".join(
                f"\n    {p}" for p in changes[kind][:20]) +
                 ("\n    ..." if len(changes[kind]) > 20 else ""))
    if not any(changes.values()):
        print("  nothing changed")
    print(f"use it offline with tcdyn.load({str(args.dir)!r}) or "
          f"TASKCLUSTER_REFERENCES={args.dir}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from ..default import default
    from .config import load_references
    from .output import show

    deployment = (load_references(args.source, timeout=args.timeout) if args.source
                  else default())
    show(deployment.references.describe())
    for name in deployment.references.names():
        try:
            model = deployment.references.model(name)
        except Exception as exc:
            show(f"  {name:<22} ERROR {exc}")
            continue
        show(f"  {name:<22} {model.serviceName}/{model.apiVersion}  "
             f"{len(model.entries)} {'methods' if model.kind == 'api' else 'exchanges'}")
    return 0


def _diff(args: argparse.Namespace) -> int:
    from ..references.drift import How, Kind, diff
    from ..references.index import ReferenceSet
    from .config import load_references, settings
    from .output import emit, show

    root = settings(args.root_url, None).require_root_url()
    if args.from_ == "bundled":
        old = ReferenceSet.bundled()
    elif args.from_.startswith(("http://", "https://")):
        old = load_references(args.from_, timeout=args.timeout).references
    else:
        old = ReferenceSet.from_directory(args.from_)
    new = load_references(root, refresh=True, timeout=args.timeout).references
    result = diff(old, new)
    if args.json:
        emit(result.as_dict())
        return 0
    show(f"from {result.old}\n  to {result.new}")
    kinds: tuple[Kind, ...] = ("method", "exchange", "schema")
    hows: tuple[How, ...] = ("added", "removed", "changed")
    for kind in kinds:
        changes = result.of(kind)
        counts = ", ".join(f"{len(result.of(kind, how))} {how}" for how in hows
                           if result.of(kind, how))
        show(f"{kind}s: {counts or 'no change'}")
        width = max((len(c.name) for c in changes), default=0)
        for c in changes:
            mark = {"added": "+", "removed": "-", "changed": "~"}[c.how]
            what = ", ".join(c.fields) if c.fields else c.detail
            show(f"  {mark} {c.name:<{width}}  {what}".rstrip())
    for problem in result.problems:
        show(f"problem: {problem}")
    if result:
        show(f"a client built from the {result.old} gets HTTP 404 for what {root} lacks: "
             f"build it with tcdyn.load({root!r})")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import main

    return main()


def _seconds(text: str) -> float:
    from ..references.fetch import check_timeout

    try:
        return check_timeout(float(text))  # type: ignore[return-value]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}") from None
