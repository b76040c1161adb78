"""The official client's tests, run against tcdyn: where they come from, how their imports
map to tcdyn's, and what is expected of each (tests/official/README.md).

The tests are the ``test/`` folder of the official client's sdist, fetched at install time
(scripts/official_tests.py, run by scripts/setup.sh) into a cache outside the clone, never
committed. ``run(target)`` runs a copy of them in a pytest process of its own (the shim
must own the name ``taskcluster``, which the rest of the suite uses for the real official
client; ``official_plugin`` is that process's plugin) and returns each test's outcome;
``test_official.py`` compares them with ``DIFFERENCES`` and ``NOT_RUN``.
``python tests/official/harness.py [tcdyn|taskcluster] [rootUrl]`` prints the outcomes
and the counts (with a rootUrl: of ``REAL``, against that deployment, with
``TASKCLUSTER_CLIENT_ID`` and ``TASKCLUSTER_ACCESS_TOKEN`` as the credentials).
"""

from __future__ import annotations

import atexit
import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _fetcher() -> Any:
    """scripts/official_tests.py, which fetches the official tests and knows where they are."""
    spec = importlib.util.spec_from_file_location(
        "official_tests", ROOT / "scripts" / "official_tests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FETCHER = _fetcher()
#: The official client's version whose tests run (the pin of pyproject's bench extra).
VERSION: str = FETCHER.version()
#: The page that lists every difference (``test_official.py`` checks they agree).
PAGE = ROOT / "docs" / "moving.md"
#: Which client the official tests run against: ``tcdyn`` (through the shim) or ``taskcluster``
#: (the official client itself, to check them and the stand-ins).
TARGET_VARIABLE = "TCDYN_OFFICIAL_TARGET"
#: Set in the official tests' pytest process: where to write the outcomes (JSON).
REPORT_VARIABLE = "TCDYN_OFFICIAL_REPORT"
#: Set in the official tests' pytest process to run only ``REAL`` (against a real deployment).
REAL_VARIABLE = "TCDYN_OFFICIAL_REAL"

#: The official import paths and tcdyn's, as a user moving over rewrites them. Besides
#: these, each service module (``taskcluster.queue``, ``taskcluster.aio.queue``: see
#: ``service_modules``) holds the class (``tcdyn.Queue``, ``tcdyn.aio.Queue``).
IMPORTS = {
    "taskcluster": "tcdyn",
    "taskcluster.aio": "tcdyn.aio",
    "taskcluster.exceptions": "tcdyn.exceptions",
    "taskcluster.utils": "tcdyn.utils",
    "taskcluster.helper": "tcdyn.helper",
    "taskcluster.upload": "tcdyn.upload",
    "taskcluster.download": "tcdyn.download",
    "taskcluster.aio.upload": "tcdyn.aio.upload",
    "taskcluster.aio.download": "tcdyn.aio.download",
    "taskcluster.aio.reader_writer": "tcdyn.aio.reader_writer",
}

#: The official ``taskcluster.client.config``: defaults every client made later takes. tcdyn
#: has no global defaults; the shim's ``config`` is this dict, which tcdyn never reads.
OFFICIAL_CONFIG: dict[str, Any] = {
    "credentials": {"clientId": None, "accessToken": None, "certificate": None},
    "rootUrl": None, "maxRetries": 5, "signedUrlExpiration": 15 * 60}


def service_modules(tcdyn: Any) -> dict[str, str]:
    """Official service module name -> tcdyn class name (``purgecache`` -> ``PurgeCache``):
    the bundled classes, whose lower-case names are the official modules'."""
    from tcdyn.default import default

    return {name.lower(): name for name in default().references.names()}


# -- createApiClient --------------------------------------------------------------------

def api_client_factory(asynchronous: bool) -> Callable[[str, Mapping[str, Any]], type]:
    """The official ``createApiClient(name, api)``, done the tcdyn way: the reference is
    written as a reference set (a directory) and read with ``tcdyn.load``."""

    def createApiClient(name: str, api: Mapping[str, Any]) -> type:
        return _api_client(api, asynchronous)

    return createApiClient


def _api_client(api: Mapping[str, Any], asynchronous: bool) -> type:
    import tcdyn

    reference = copy.deepcopy(dict(api["reference"]))
    service = reference["serviceName"]
    version = reference.get("apiVersion", "v1")
    functions = [e for e in reference["entries"] if e["type"] == "function"]
    # tcdyn checks a reference's shape: an exchange entry names its message schema (the
    # official tests' fixtures leave it out).
    exchanges = [{"schema": f"{e['name']}-message.json", **e}
                 for e in reference["entries"] if e["type"] == "topic-exchange"]
    root = Path(tempfile.mkdtemp(prefix="tcdyn-official-"))
    atexit.register(shutil.rmtree, root, True)
    listed = []
    for kind, entries, schema in (("api", functions, "api-reference-v0"),
                                  ("exchanges", exchanges, "exchanges-reference-v0")):
        if not entries:
            continue
        body = {**reference, "$schema": f"/schemas/common/{schema}.json#", "entries": entries}
        if kind == "api":
            body.pop("exchangePrefix", None)
        path = root / "references" / service / version / f"{kind}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body))
        listed.append(f"/references/{service}/{version}/{kind}.json")
    (root / "references" / "manifest.json").write_text(json.dumps(
        {"$schema": "/schemas/common/manifest-v3.json#", "references": listed}))
    deployment = tcdyn.load(root)
    classes = deployment.aio if asynchronous else deployment
    names = deployment.references.names()
    api_names = [n for n in names if not n.endswith("Events")]
    events_names = [n for n in names if n.endswith("Events")]
    api_cls = getattr(classes, api_names[0]) if api_names else None
    events_cls = getattr(deployment, events_names[0]) if events_names else None
    if api_cls is None or events_cls is None:
        return api_cls or events_cls  # type: ignore[return-value]
    return _both(api_cls, events_cls, {e["name"] for e in exchanges})


def _both(api_cls: type, events_cls: type, exchange_names: set[str]) -> type:
    """A reference with functions and exchanges (only the official tests' fixture has one)
    is two tcdyn classes: a service class and an events class. This object holds one of
    each and hands every attribute and option to the one that has it."""

    class Both:
        def __init__(self, options: Mapping[str, Any] | None = None, session: Any = None
                     ) -> None:
            self._api = api_cls(options, session)
            self._events = events_cls(options)

        def __getattr__(self, name: str) -> Any:
            if name in exchange_names:
                return getattr(self._events, name)
            return getattr(self._api, name)

        @property
        def options(self) -> MutableMapping[str, Any]:
            return _BothOptions(self._api.options, self._events.options)

    return Both


class _BothOptions(MutableMapping[str, Any]):
    """``exchangePrefix`` is the events object's option; the others the service client's."""

    def __init__(self, api: MutableMapping[str, Any], events: MutableMapping[str, Any]) -> None:
        self._api, self._events = api, events

    def _of(self, key: str) -> MutableMapping[str, Any]:
        return self._events if key == "exchangePrefix" else self._api

    def __getitem__(self, key: str) -> Any:
        return self._of(key)[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._of(key)[key] = value

    def __delitem__(self, key: str) -> None:
        del self._of(key)[key]

    def __iter__(self) -> Any:
        yield from self._api
        yield from (k for k in self._events if k == "exchangePrefix")

    def __len__(self) -> int:
        return sum(1 for _ in self)


# -- what the plugin adds (official_plugin.py) -------------------------------------------

#: Test cases the official files define inside a module-level function, where pytest never
#: finds them (upstream's mistake): module -> that function -> the class the plugin collects
#: them in (with the function itself when it takes ``self``: the cases' helper method).
NESTED = {"test_utils.py": {"assertScopeMatch": "TestScopeMatch",
                            "test_not_expired": "TestIsExpired",
                            "clear_env": "TestOptionsFromEnvironment"}}
#: Tests reading a file of the official client's source tree beside ``test/`` (which alone is
#: fetched): the plugin puts tcdyn's file of that name there for the test.
FILES_BESIDE = {"test_utils.py::test_success_put_file": "pyproject.toml"}


# -- expectations -----------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    """One difference from the official client, as the page lists it (its ``name`` is the
    first column of the page's table).

    ``removed``: the official tests in ``tests`` pass, and tcdyn's tests in ``proof`` show
    the official behaviour. ``deliberate``: each official test in ``tests`` fails, with a
    failure matching ``failure`` (a regex), for the reason the page gives.
    """

    name: str
    status: str
    tests: tuple[str, ...] = ()
    failure: str = ""
    proof: tuple[str, ...] = ()


def _ids(module: str, names: str) -> tuple[str, ...]:
    return tuple(f"{module}::{name}" for name in names.split())


MOVING = "tests/test_moving.py::"

DIFFERENCES: tuple[Difference, ...] = (
    # -- removed: tcdyn now behaves as the official client ------------------------------
    Difference("`client.options` is live", "removed", _ids(
        "test_client.py", "test_rootUrl_set_correctly"), proof=(
        f"{MOVING}test_setting_max_retries_in_options_changes_the_retries",
        f"{MOVING}test_setting_credentials_in_options_signs_the_next_call_with_them",
        f"{MOVING}test_setting_the_root_url_in_options_sends_the_next_call_there",
        f"{MOVING}test_setting_the_exchange_prefix_changes_the_next_bindings",
        f"{MOVING}test_a_change_to_options_is_checked_and_a_refused_one_changes_nothing")),
    Difference("`TaskclusterRestFailure(msg=...)`", "removed",
               _ids("test_exceptions.py", "test_exception_pickle"),
               proof=(f"{MOVING}test_the_official_constructor_gives_the_official_str",)),
    Difference("`str()` of a REST error", "removed", proof=(
        f"{MOVING}test_a_rest_error_reads_as_the_servers_message_and_shows_where_it_came_from",
        f"{MOVING}test_the_official_constructor_gives_the_official_str")),
    Difference("`optionsFromEnvironment()` with part of a credential set", "removed", _ids(
        "test_utils.py", "TestOptionsFromEnvironment::test_cred_only "
        "TestOptionsFromEnvironment::test_default_creds "
        "TestOptionsFromEnvironment::test_default_creds_overridden"),
        proof=(f"{MOVING}test_options_from_environment_merges_part_of_a_credential_set",)),
    Difference("`stringDate` and `dumpJson`", "removed", _ids(
        "test_utils.py", "test_naive test_aware test_serializes_naive_date "
        "test_serializes_aware_date"),
        proof=(f"{MOVING}test_string_date_writes_what_the_official_client_writes",)),
    Difference("Non-ASCII credentials", "removed", _ids(
        "test_client.py", "test_credentials_which_cannot_be_encoded_in_unicode_work "
        "test_invalid_unicode_permacred_simple"),
        proof=(f"{MOVING}test_invalid_credentials_are_an_auth_failure_found_before_sending",)),
    Difference("`taskcluster.aio.reader_writer`, `HashingReader`, `createSession`",
               "removed", (
                   *_ids("aio/test_reader_writer.py",
                         "test_streaming_copy_buffers test_streaming_copy_files "
                         "test_streaming_copy_reader_fails test_streaming_copy_writer_fails"),
                   *_ids("aio/test_upload_download.py", "test_hashing_reader_hashes"),
                   *_ids("test_imports.py", "ImportTest::test_taskcluster "
                         "ImportTest::test_taskcluster_client "
                         "ImportTest::test_taskcluster_exceptions")),
               proof=(f"{MOVING}test_aio_create_session_is_shared_by_async_clients",
                      f"{MOVING}test_import_tcdyn_gives_its_exceptions_module_as_import_"
                      "taskcluster_does")),
    Difference("`taskcluster.slugid`", "removed", proof=(
        f"{MOVING}test_tcdyn_slugid_is_the_slugid_module_as_taskcluster_slugid_is",)),
    # -- deliberate (those without official tests: no official test shows them) ----------
    Difference("Unknown options and invalid payloads are refused before sending",
               "deliberate"),
    Difference("`session=` takes an httpx client", "deliberate"),
    Difference("To mypy, a `dict[str, Any]` is not a task", "deliberate"),
    Difference("Methods are not `types.MethodType`", "deliberate",
               _ids("test_client.py", "test_creates_methods"), r"assert False"),
    Difference("No process-wide default `config`", "deliberate",
               _ids("test_client.py", "test_builds_surl_positional test_builds_surl_keyword"),
               r"TaskclusterArgumentError: Fake has no credentials to sign a URL with"),
    Difference("`buildUrl` takes only declared `query=` names", "deliberate",
               _ids("test_client.py", "test_build_url_query_string"),
               r"TaskclusterArgumentError: two_args_no_input\(\) takes no query arguments"),
    Difference("An empty routing-key pattern is refused", "deliberate",
               _ids("test_client.py", "test_exchange test_exchange_trailing_slash"),
               r"TaskclusterTopicExchangeFailure: FakeEvents.topicName\(\): the pattern is "
               r"empty"),
    Difference("Storage errors in the transfer helpers", "deliberate", (
        *_ids("test_upload_download.py", "test_putUrl_upload_fails "
              "test_putUrl_upload_fails_retried"),
        *_ids("aio/test_upload_download.py", "test_putUrl_upload_fails "
              "test_putUrl_upload_fails_retried")),
        r"TaskclusterRestFailure: storage host answered [45]00 to PUT http://127\.0\.0\.1:\d+"),
    Difference("An object without an acceptable hash is not downloaded", "deliberate", (
        *_ids("test_upload_download.py", "test_getUrl_download_fails "
              "test_getUrl_download_fails_retried"),
        *_ids("aio/test_upload_download.py", "test_getUrl_download_fails "
              "test_getUrl_download_fails_retried")),
        r"ObjectHashVerificationError: No acceptable hashes found in object metadata"),
)

#: The official tests that call a real deployment (``base.REAL_ROOT_URL``):
#: tests/real/test_real_official.py runs them against the local Taskcluster stack.
REAL = (
    *_ids("test_client.py", "test_permacred_simple test_permacred_simple_authorizedScopes "
          "test_unicode_permacred_simple test_permacred_insufficient_scopes "
          "test_temporary_credentials test_named_temporary_credentials "
          "test_temporary_credentials_authorizedScopes "
          "test_named_temporary_credentials_authorizedScopes test_signed_url "
          "test_signed_url_bad_credentials test_temp_credentials_signed_url "
          "test_signed_url_authorizedScopes test_temp_credentials_signed_url_authorizedScopes"),
    *_ids("aio/test_client.py", "test_async_works_with_permanent_credentials "
          "test_async_works_with_temporary_credentials"),
    # the object service, with the credentials given (TASKCLUSTER_CLIENT_ID, ...)
    *_ids("test_upload_download_real.py", "test_small_upload_download "
          "test_large_upload_download test_file_upload_download"),
    *_ids("aio/test_upload_download_real.py", "test_small_upload_download "
          "test_large_upload_download test_file_upload_download "
          "test_aiofile_upload_download"),
)

#: Why an official test is not run: it reaches into a name of the official client's
#: implementation, which tcdyn does not have (the behaviour behind it is tcdyn's own tests').
PRIVATE = {
    "_processArgs": "calls the official client's private `_processArgs` (argument binding; "
                    "tests/test_client.py, tests/test_hardening_api.py test tcdyn's)",
    "_subArgsInRoute": "calls the official client's private `_subArgsInRoute` (route "
                       "expansion; tests/test_client.py tests tcdyn's)",
    "_makeHttpRequest": "patches the official client's private `_makeHttpRequest`",
    "makeSingleHttpRequest": "patches the official `utils.makeSingleHttpRequest` (requests; "
                             "retries are tests/test_client.py's and "
                             "tests/test_hardening_transport.py's)",
    "Object": "replaces the `Object` class the official `aio.download` module imports",
}

NOT_RUN: dict[str, str] = {
    **{test: PRIVATE["_subArgsInRoute"] for test in _ids(
        "test_client.py", "test_valid_no_subs test_valid_one_sub test_invalid_one_sub "
        "test_invalid_route_no_sub test_invalid_route_no_arg")},
    **{test: PRIVATE["_processArgs"] for test in _ids(
        "test_client.py", "test_no_args test_finds_payload test_positional_args_only "
        "test_keyword_args_only test_int_args test_keyword_and_positional "
        "test_invalid_not_enough_args test_invalid_too_many_positional_args "
        "test_invalid_too_many_keyword_args test_invalid_missing_arg_positional "
        "test_invalid_not_enough_args_because_of_overwriting "
        "test_invalid_positional_not_string_empty_dict "
        "test_invalid_positional_not_string_non_empty_dict "
        "test_calling_convention_1_without_payload test_calling_convention_1_with_payload "
        "test_calling_convention_2_without_payload test_calling_convention_2_with_payload "
        "test_calling_convention_3_without_payload_without_query "
        "test_calling_convention_3_with_payload_without_query "
        "test_calling_convention_3_with_payload_with_query "
        "test_calling_convention_3_without_payload_with_query "
        "test_calling_convention_3_with_positional_arguments_with_payload_with_query "
        "test_calling_convention_3_with_pagination "
        "test_calling_convention_3_with_pos_args_same_as_param_kwarg_dict_vals_with_payload"
        "_with_query")},
    **{test: PRIVATE["_makeHttpRequest"] for test in _ids(
        "test_client.py", "test_hits_no_args_no_input test_hits_two_args_no_input "
        "test_hits_no_args_with_input test_hits_two_args_with_input test_input_is_procesed "
        "test_kwargs")},
    **{test: PRIVATE["makeSingleHttpRequest"] for test in (
        *_ids("test_client.py", "test_success_first_try test_success_first_try_payload "
              "test_success_fifth_try_status_code test_exhaust_retries_try_status_code "
              "test_success_fifth_try_connection_errors test_redirect_status_code "
              "test_failure_status_code test_failure_connection_errors"),
        *_ids("test_utils.py", "test_success_no_payload test_success_payload "
              "test_redirect_response test_failure test_success_put_file"))},
    **{test: PRIVATE["Object"] for test in (
        "test_upload_download.py::test_download_object_artifact",
        "aio/test_upload_download.py::test_download_object_artifact")},
}


def expectation(test: str) -> Difference | None:
    """The difference an official test id shows (by its id, or its function's for all its
    parametrized cases), or None."""
    for d in DIFFERENCES:
        if test in d.tests or test.split("[")[0] in d.tests:
            return d
    return None


# -- running ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    outcome: str  # passed, failed, skipped, deselected
    text: str = ""


def missing() -> str | None:
    """Why the official tests cannot run here (not fetched), or None."""
    if FETCHER.is_fetched(VERSION):
        return None
    return (f"the official client's tests ({VERSION}) are not fetched into "
            f"{FETCHER.tests_dir(VERSION)}: run scripts/setup.sh "
            "(or python scripts/official_tests.py)")


def run(target: str = "tcdyn", root_url: str | None = None,
        credentials: Mapping[str, str] | None = None) -> dict[str, Outcome]:
    """Run the official tests against ``target`` (``tcdyn`` or ``taskcluster``) in a pytest
    process of their own; each official test id (``test_client.py::test_x``) -> its
    ``Outcome``. With ``root_url``, only ``REAL``, against that deployment (and
    ``credentials``, a clientId and accessToken, for the object service's tests)."""
    why = missing()
    if why:
        raise FileNotFoundError(why)
    work = Path(tempfile.mkdtemp(prefix="tcdyn-official-run-"))
    try:
        report = work / "report.json"
        # A copy of its own: the fetched folder stays as fetched (no __pycache__, no file
        # the plugin adds), whichever Pythons and runs read it at once.
        upstream = work / "upstream"
        shutil.copytree(FETCHER.tests_dir(VERSION), upstream,
                        ignore=shutil.ignore_patterns(FETCHER.MARKER, "__pycache__"))
        paths = [HERE / "support", HERE]
        if target == "tcdyn":
            paths.insert(0, HERE / "shim")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TASKCLUSTER_", "TCDYN_", "PYTEST_", "CI"))}
        home = work / "home"
        home.mkdir()
        env.update({"PYTHONPATH": os.pathsep.join(map(str, paths)), TARGET_VARIABLE: target,
                    REPORT_VARIABLE: str(report), "TCDYN_CONFIG": str(home / "none.toml"),
                    "TCDYN_CACHE_DIR": str(home / "cache"), "HOME": str(home)})
        if root_url:
            env.update({REAL_VARIABLE: "1", "TASKCLUSTER_ROOT_URL": root_url,
                        "NO_SKIP_TESTS": "1"})
            if credentials:
                env.update({"TASKCLUSTER_CLIENT_ID": credentials["clientId"],
                            "TASKCLUSTER_ACCESS_TOKEN": credentials["accessToken"]})
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-c", str(HERE / "harness.ini"), "--rootdir",
             str(work), "--confcutdir", str(work), str(upstream), "-q", "-p",
             "no:cacheprovider", "-p", "no:tcdyn", "-p", "official_plugin",
             "--continue-on-collection-errors"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        if not report.is_file():
            raise RuntimeError(f"the official tests did not run (exit {done.returncode}):\n"
                               f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        return {test: Outcome(**o) for test, o in json.loads(report.read_text()).items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def counts(outcomes: Mapping[str, Outcome]) -> dict[str, int]:
    out: dict[str, int] = {}
    for o in outcomes.values():
        out[o.outcome] = out.get(o.outcome, 0) + 1
    return out


def first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if re.match(r"^E\s", line)]
    return (lines[0] if lines else (text.strip().splitlines() or [""])[-1])[:300]


if __name__ == "__main__":
    given = {k: os.environ[f"TASKCLUSTER_{v}"] for k, v in (
        ("clientId", "CLIENT_ID"), ("accessToken", "ACCESS_TOKEN"))
        if f"TASKCLUSTER_{v}" in os.environ}
    result = run(sys.argv[1] if len(sys.argv) > 1 else "tcdyn",
                 sys.argv[2] if len(sys.argv) > 2 else None, given or None)
    for test, o in sorted(result.items()):
        print(f"{o.outcome:10} {test}  {first_line(o.text) if o.outcome == 'failed' else ''}")
    print(counts(result))
