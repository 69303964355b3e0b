"""Required-field and consistency checks of the deployment files
(tests/deploy/check-manifests runs it; the schema check of the Kubernetes
manifests is validate-k8s.mjs, the compose file's parse is docker-compose).

    python3 check_manifests.py ROOT BUILD COMPOSE_CONFIG KEDA_RENDERED DOCS_OUT

ROOT: the repository; BUILD: a build directory (binaries for --help, ldd);
COMPOSE_CONFIG: `docker-compose --profile fake config` output (every
interpolation and anchor resolved, with .env.example as .env);
KEDA_RENDERED: deploy/k8s/keda-apply --run 1 --print; DOCS_OUT: where to
write the Kubernetes documents for the schema check.
Prints `ok: ...` per check, `FAIL: ...` per problem; exit 1 on any problem.
"""
import json
import os
import re
import shlex
import subprocess
import sys

import yaml

ROOT, BUILD, COMPOSE_CONFIG, KEDA_RENDERED, DOCS_OUT = sys.argv[1:6]
failures = []
IMAGE_LIB = "/usr/local/lib/mdw/"  # where deploy/Dockerfile puts deploy/entrypoint/


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}")


def check(cond, okmsg, failmsg):
    if cond:
        print(f"ok: {okmsg}")
    else:
        fail(failmsg)
    return cond


def path(*p):
    return os.path.join(ROOT, *p)


def read(*p):
    with open(path(*p)) as f:
        return f.read()


# ------------------------------------------------------------ known settings
def program_settings():
    """Environment variables that the programs read, from their --help (one table, shared/config.c)."""
    names = set()
    for prog in ("mdw-coordinator", "mdw-worker", "mdwctl"):
        out = subprocess.run([os.path.join(BUILD, prog), "--help"], capture_output=True, text=True).stdout
        for m in re.finditer(r"\[([A-Z0-9_]+)(?: or ([A-Z0-9_]+))?\]", out):
            names.update(x for x in m.groups() if x)
    return names


def phases():
    """The phase table, as the coordinator lists it when given an unknown phase."""
    r = subprocess.run([os.path.join(BUILD, "mdw-coordinator"), "--phases", "no-such-phase"],
                       capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "")})
    m = re.search(r"expected one of ([a-z_, ]+)", r.stderr)
    return [p.strip() for p in m.group(1).split(",")] if m else []


PROGRAM_VARS = program_settings()
ENTRYPOINT_DIR = path("deploy", "entrypoint")
ENTRYPOINTS = sorted(f for f in os.listdir(ENTRYPOINT_DIR) if f.endswith(".sh"))
ENTRYPOINT_VARS = set()
for f in ENTRYPOINTS:
    ENTRYPOINT_VARS.update(re.findall(r"\b(MDW_[A-Z0-9_]+)", read("deploy", "entrypoint", f)))
AWS_VARS = {"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
            "AWS_SHARED_CREDENTIALS_FILE"}
KNOWN_VARS = PROGRAM_VARS | ENTRYPOINT_VARS | AWS_VARS
PHASES = phases()
check(len(PROGRAM_VARS) >= 20 and "MDW_TARGET_DSN" in PROGRAM_VARS,
      f"{len(PROGRAM_VARS)} settings read from the programs' --help", "cannot read the settings from --help")
check(len(PHASES) >= 9, f"phase table: {', '.join(PHASES)}", "cannot read the phase table from mdw-coordinator")


def unknown_vars(names, extra=()):
    return sorted(n for n in names if (n.startswith("MDW_") or n.startswith("AWS_"))
                  and n not in KNOWN_VARS and n not in extra)


def entrypoint_of(command, where):
    """The deploy/entrypoint script that an image command runs (image path -> repo file)."""
    if not command:
        fail(f"{where}: no command")
        return None
    cmd = command if isinstance(command, list) else shlex.split(command)
    if not cmd[0].startswith(IMAGE_LIB):
        fail(f"{where}: command {cmd[0]} is not one of the entrypoint scripts in {IMAGE_LIB}")
        return None
    name = cmd[0][len(IMAGE_LIB):]
    f = path("deploy", "entrypoint", name)
    if check(os.path.isfile(f) and os.access(f, os.X_OK), f"{where}: runs deploy/entrypoint/{name}",
             f"{where}: {cmd[0]} has no executable deploy/entrypoint/{name}"):
        return name
    return None


# ----------------------------------------------------------------- Dockerfile
def dockerfile_instructions(text):
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        ins, _, args = cur.partition(" ")
        out.append((ins.upper(), args.strip()))
        cur = ""
    return out


def apt_packages(run_args):
    """Packages named by `apt-get install` in a RUN line."""
    pkgs = []
    for part in re.split(r"&&|;", run_args):
        words = part.split()
        if "apt-get" in words and "install" in words:
            pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


DOCKERFILE = read("deploy", "Dockerfile")
stages, args = {}, {}
order = []
current = None
for ins, a in dockerfile_instructions(DOCKERFILE):
    if ins == "ARG" and current is None:
        k, _, v = a.partition("=")
        args[k] = v
    if ins == "FROM":
        m = re.match(r"(\S+)\s+AS\s+(\S+)", a, re.I)
        base, name = (m.group(1), m.group(2)) if m else (a, f"stage{len(order)}")
        base = re.sub(r"\$\{(\w+)\}", lambda mm: args.get(mm.group(1), ""), base)
        current = {"base": base, "ins": []}
        stages[name] = current
        order.append(name)
        continue
    if current is not None:
        current["ins"].append((ins, a))


def stage_ins(stage, kind):
    return [a for i, a in stages.get(stage, {"ins": []})["ins"] if i == kind]


def stage_user(stage):
    """The USER in force at the end of STAGE (following FROM another stage)."""
    users = stage_ins(stage, "USER")
    if users:
        return users[-1]
    base = stages.get(stage, {}).get("base")
    return stage_user(base) if base in stages else None


check(set(stages) >= {"build", "runtime-base", "fake", "runtime"} and order[-1] == "runtime",
      f"Dockerfile stages: {', '.join(order)} (runtime last: the default target)",
      f"Dockerfile stages {order}: expected build, runtime-base, fake and runtime, runtime last")
for name in ("build", "runtime-base"):
    base = stages.get(name, {}).get("base", "")
    check(re.match(r"debian:(12|bookworm)\b", base) is not None, f"Dockerfile {name} stage is on {base}",
          f"Dockerfile {name} stage base {base!r} is not Debian 12")

build_runs = " ".join(stage_ins("build", "RUN"))
check(re.search(r"(^|\s)deploy/build(\s|$)", build_runs) is not None,
      "Dockerfile build stage runs deploy/build (the same build as run-tests, run-demo and CI)",
      "Dockerfile build stage does not run deploy/build")
for script in ("run-tests", "run-demo"):
    text = read(script)
    check(re.search(r"^deploy/build build$", text, re.M) and not re.search(r"-B build(\s|$)", text),
          f"{script} builds with deploy/build", f"{script} does not build with deploy/build")

install_deps = read("deploy", "local", "install-deps")
m = re.search(r"^PKGS=\((.*?)^\)", install_deps, re.S | re.M)
deps = []
for line in (m.group(1) if m else "").splitlines():
    deps += line.split("#")[0].split()
build_pkgs = set(apt_packages(build_runs))
needed_build = {p for p in deps if p.endswith("-dev")} | {"build-essential", "cmake", "pkg-config"}
check(needed_build <= build_pkgs,
      f"Dockerfile build stage installs the {len(needed_build)} build packages of deploy/local/install-deps",
      f"Dockerfile build stage lacks build packages of install-deps: {sorted(needed_build - build_pkgs)}")

runtime_pkgs = set(apt_packages(" ".join(stage_ins("runtime-base", "RUN"))))
check(not any(p.endswith("-dev") or p in ("build-essential", "cmake", "gcc", "clang") for p in runtime_pkgs),
      "runtime image installs no compiler and no -dev package",
      f"runtime image installs build packages: {sorted(runtime_pkgs)}")


def needed_packages():
    """Debian packages holding the shared libraries that the binaries link directly."""
    libs, unknown = {}, []
    for prog in ("mdw-coordinator", "mdw-worker", "mdwctl", "bedrock-fake"):
        exe = os.path.join(BUILD, prog)
        needed = re.findall(r"\(NEEDED\).*\[(.+?)\]",
                            subprocess.run(["readelf", "-d", exe], capture_output=True, text=True).stdout)
        ldd = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(["ldd", exe], capture_output=True,
                                                                    text=True).stdout, re.M))
        for lib in needed:
            if lib in ldd:
                libs[lib] = ldd[lib]
            else:
                unknown.append(lib)
    # dpkg knows a file by the path its package ships (/lib or /usr/lib: usrmerge)
    cands = {}
    for lib, p in libs.items():
        real = os.path.realpath(p)
        for c in {p, real, re.sub(r"^/usr", "", p), re.sub(r"^/usr", "", real)}:
            cands[c] = lib
    out = subprocess.run(["dpkg", "-S", *sorted(cands)], capture_output=True, text=True).stdout
    pkgs, found = set(), set()
    for line in out.splitlines():
        pkg, _, f = line.partition(": ")
        if f in cands:
            pkgs.add(pkg.split(":")[0])
            found.add(cands[f])
    unknown += sorted(set(libs) - found)
    return pkgs, unknown


need, unresolved = needed_packages()
need -= {"libc6"}  # in every Debian image
check(not unresolved and need and need <= runtime_pkgs,
      f"runtime image installs every library the binaries link: {', '.join(sorted(need))}",
      f"runtime image lacks {sorted(need - runtime_pkgs)} (unresolved: {unresolved})")

user = stage_user("runtime") or ""
fake_user = stage_user("fake") or ""
check(user and user.split(":")[0] not in ("root", "0") and fake_user == user,
      f"runtime and fake images run as the non-root user {user}", f"images run as {user!r} / {fake_user!r}")
uid = user.split(":")[0]
hc = stage_ins("runtime-base", "HEALTHCHECK")
check(hc and (IMAGE_LIB + "healthcheck.sh") in hc[0], "runtime images have a HEALTHCHECK (healthcheck.sh)",
      "runtime-base stage has no HEALTHCHECK running healthcheck.sh")
copies = stage_ins("runtime-base", "COPY")
check(any(re.match(rf"deploy/entrypoint/?\s+{IMAGE_LIB}?$", c) for c in copies),
      f"the images carry deploy/entrypoint/ as {IMAGE_LIB}", f"no COPY of deploy/entrypoint/ to {IMAGE_LIB}")
check(any("--from=build" in c and "/out/bin" in c for c in stage_ins("runtime", "COPY")),
      "runtime image gets the installed binaries from the build stage",
      "runtime stage does not copy /out/bin from the build stage")
check(any("--from=build" in c and "bedrock-fake" in c for c in stage_ins("fake", "COPY")),
      "fake image gets bedrock-fake from the build stage", "fake stage does not copy bedrock-fake")
for stage, script in (("runtime", "worker.sh"), ("fake", "fake.sh")):
    cmd = stage_ins(stage, "CMD")
    check(cmd and json.loads(cmd[-1])[0] == IMAGE_LIB + script, f"{stage} image CMD is {script}",
          f"{stage} image CMD is {cmd}")

# The build context, as Docker's own client library (python3-docker, which
# docker-compose uses) applies .dockerignore: every file git tracks goes in
# (the build needs the sources, deploy/build, the entrypoints), no secret,
# local state or build tree does.
from docker.utils.build import PatternMatcher  # noqa: E402

dockerignore = [l.strip() for l in read(".dockerignore").splitlines() if l.strip() and not l.startswith("#")]
matcher = PatternMatcher(dockerignore)
tracked = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True, text=True).stdout.split()
tracked += [os.path.relpath(os.path.join(dp, f), ROOT) for d in ("deploy", "tests/deploy")
            for dp, _, fs in os.walk(path(d)) for f in fs]
left_out = sorted(f for f in set(tracked) if matcher.matches(f))
check(tracked and not left_out, f"build context: all {len(set(tracked))} source files go in (.dockerignore)",
      f".dockerignore leaves sources out of the build context: {left_out[:10]}")
kept_out = [".env", ".env.production", ".git/config", ".state/pg/data/PG_VERSION", "build/CMakeCache.txt",
            "build-asan/mdw-worker"]
check(all(matcher.matches(f) for f in kept_out), "build context: no .env, .git, .state or build tree",
      f".dockerignore lets in {[f for f in kept_out if not matcher.matches(f)]}")

# --------------------------------------------------------------- compose file
def git_ignored(rel):
    return subprocess.run(["git", "-C", ROOT, "check-ignore", "-q", "--no-index", rel]).returncode == 0


check(git_ignored(".env") and not git_ignored(".env.example"), ".env is git-ignored, .env.example is not",
      ".env must be git-ignored and .env.example not")

with open(COMPOSE_CONFIG) as f:
    compose = yaml.safe_load(f) or {}
svcs = compose.get("services", {})
check(set(svcs) == {"legacy-db", "legacy-init", "target-db", "redis", "coordinator", "worker", "bedrock-fake"},
      f"compose services: {', '.join(sorted(svcs))}", f"compose services are {sorted(svcs)}")


def env_of(s):
    e = svcs.get(s, {}).get("environment") or {}
    if isinstance(e, list):
        e = dict(x.split("=", 1) if "=" in x else (x, "") for x in e)
    return {k: ("" if v is None else str(v)) for k, v in e.items()}


def healthcheck_ok(s):
    h = svcs.get(s, {}).get("healthcheck") or {}
    return bool(h.get("test")) and not h.get("disable") and h.get("test") != ["NONE"]


expect_deps = {
    "legacy-init": {"legacy-db": "service_healthy", "target-db": "service_healthy", "redis": "service_healthy"},
    "coordinator": {"legacy-init": "service_completed_successfully", "target-db": "service_healthy",
                    "redis": "service_healthy"},
    "worker": {"legacy-init": "service_completed_successfully", "legacy-db": "service_healthy",
               "target-db": "service_healthy", "redis": "service_healthy"},
}
for s, deps_want in expect_deps.items():
    got = {k: (v or {}).get("condition") for k, v in (svcs.get(s, {}).get("depends_on") or {}).items()}
    check(got == deps_want, f"{s} starts after {', '.join(f'{k} ({v})' for k, v in sorted(got.items()))}",
          f"{s} depends_on {got}, expected {deps_want}")
for s in svcs:
    for dep, d in (svcs[s].get("depends_on") or {}).items():
        if (d or {}).get("condition") == "service_healthy" and not healthcheck_ok(dep):
            fail(f"{s} waits for {dep} to be healthy but {dep} has no health check")
long_running = ["legacy-db", "target-db", "redis", "coordinator", "worker", "bedrock-fake"]
check(all(healthcheck_ok(s) for s in long_running), "every long-running service has a health check",
      f"services without a health check: {[s for s in long_running if not healthcheck_ok(s)]}")

w = svcs.get("worker", {})
check("container_name" not in w and not w.get("ports") and not w.get("hostname"),
      "worker is scalable: no container name, hostname or published port",
      "worker has a container_name, hostname or ports: it cannot be scaled")
for s in ("legacy-db", "target-db", "redis"):
    if svcs.get(s, {}).get("ports"):
        fail(f"{s} publishes ports: databases and Redis stay on the compose network")
for p in svcs.get("coordinator", {}).get("ports") or []:
    host_ip = p.get("host_ip") if isinstance(p, dict) else str(p).split(":")[0]
    check(host_ip == "127.0.0.1", "coordinator metrics published on 127.0.0.1 only",
          f"coordinator publishes {p} beyond loopback")

check("pgvector" in svcs.get("target-db", {}).get("image", ""), "target-db image has pgvector (vector(1024))",
      "target-db image is not a pgvector image")
check(svcs.get("legacy-db", {}).get("image", "").startswith("postgres:15"), "legacy-db is postgres:15",
      "legacy-db is not postgres:15")
rcmd = svcs.get("redis", {}).get("command") or []
rcmd = rcmd if isinstance(rcmd, list) else shlex.split(rcmd)
rpass = rcmd[rcmd.index("--requirepass") + 1] if "--requirepass" in rcmd else ""
check("--appendonly" in rcmd and rcmd[rcmd.index("--appendonly") + 1] == "yes" and rpass,
      "redis: appendonly yes, password required", f"redis command {rcmd}: needs --appendonly yes and --requirepass")
check(env_of("redis").get("REDISCLI_AUTH") == rpass, "redis-cli in the redis container authenticates itself",
      "redis: REDISCLI_AUTH differs from the --requirepass password")

for s, target in (("legacy-init", "runtime"), ("coordinator", "runtime"), ("worker", "runtime"),
                  ("bedrock-fake", "fake")):
    b = svcs.get(s, {}).get("build") or {}
    check(b.get("dockerfile") == "deploy/Dockerfile" and b.get("target") == target and target in stages,
          f"{s} image: deploy/Dockerfile, target {target}", f"{s} build is {b}")
    entrypoint_of(svcs.get(s, {}).get("command"), f"compose {s}")


def dsn(s):
    return dict(kv.split("=", 1) for kv in s.split())


for s in ("legacy-init", "coordinator", "worker"):
    e = env_of(s)
    missing = [k for k in ("MDW_SOURCE_DSN", "MDW_TARGET_DSN", "MDW_REDIS_URL") if not e.get(k)]
    if missing:
        fail(f"compose {s} lacks {missing}")
        continue
    ok = True
    for var, db in (("MDW_SOURCE_DSN", "legacy-db"), ("MDW_TARGET_DSN", "target-db")):
        d, dbenv = dsn(e[var]), env_of(db)
        ok &= check(d.get("host") == db and d.get("dbname") == dbenv.get("POSTGRES_DB")
                    and d.get("user") == dbenv.get("POSTGRES_USER")
                    and d.get("password") == dbenv.get("POSTGRES_PASSWORD") != "",
                    f"compose {s}: {var} names {db}'s database, user and password",
                    f"compose {s}: {var} does not match the {db} service")
    m = re.match(r"redis://:([^@]+)@redis:6379/\d+$", e["MDW_REDIS_URL"])
    check(m and m.group(1) == rpass, f"compose {s}: MDW_REDIS_URL has the redis service's password",
          f"compose {s}: MDW_REDIS_URL does not match the redis service")
    unk = unknown_vars(e)
    check(not unk, f"compose {s}: every MDW_/AWS_ variable is a setting of the programs or entrypoints",
          f"compose {s}: unknown variables {unk}")
check(env_of("coordinator").get("MDW_METRICS_ADDR", "").startswith("0.0.0.0:"),
      "coordinator serves metrics to the compose network (its health check reads them)",
      "coordinator: MDW_METRICS_ADDR is not 0.0.0.0:PORT")

raw = read("docker-compose.yml")
secret_pat = re.compile(r'(password=|^\s*[A-Z_]*PASSWORD:\s*|"--requirepass",\s*"|^\s*REDISCLI_AUTH:\s*|redis://:)')
literal = []
for line in raw.splitlines():
    if line.strip().startswith("#"):
        continue
    for m in secret_pat.finditer(line):
        if not line[m.end():].startswith("${"):
            literal.append(line.strip())
check(not literal, "docker-compose.yml holds no secret: every password comes from .env",
      f"docker-compose.yml has literal secrets: {literal}")

example = {}
for line in read(".env.example").splitlines():
    line = line.strip()
    if line.startswith("#"):
        line = line.lstrip("#").strip()
    if re.match(r"^[A-Z][A-Z0-9_]*=", line):
        k, _, v = line.partition("=")
        example[k] = v
compose_vars = set(re.findall(r"\$\{([A-Z0-9_]+)", raw))
unk = unknown_vars(example, compose_vars)
check(not unk, f".env.example: its {len(example)} variables are settings of the programs, entrypoints or compose file",
      f".env.example names unknown variables {unk}")
required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", raw))
check(required <= set(example), f".env.example sets every required variable: {', '.join(sorted(required))}",
      f".env.example lacks {sorted(required - set(example))}")

# ----------------------------------------------------------------- Kubernetes
k8s_dir = path("deploy", "k8s")
docs = []
for f in sorted(os.listdir(k8s_dir)):
    if not f.endswith(".yaml"):
        continue
    text = read("deploy", "k8s", f) if not f.startswith("keda-") else open(KEDA_RENDERED).read()
    try:
        for d in yaml.safe_load_all(text):
            if d:
                docs.append((f, d))
    except yaml.YAMLError as e:
        fail(f"deploy/k8s/{f}: not YAML: {e}")
kinds = {}
for f, d in docs:
    for k in ("apiVersion", "kind"):
        if not d.get(k):
            fail(f"deploy/k8s/{f}: a document without {k}")
    if d.get("kind") != "Kustomization" and not (d.get("metadata") or {}).get("name"):
        fail(f"deploy/k8s/{f}: {d.get('kind')} without metadata.name")
    kinds.setdefault(d.get("kind"), []).append((f, d))
check({"ConfigMap", "Secret", "Job", "Deployment", "ScaledObject", "Kustomization"} <= set(kinds),
      f"deploy/k8s kinds: {', '.join(sorted(k for k in kinds if k))}", f"deploy/k8s kinds are {sorted(kinds)}")


def one(kind):
    return (kinds.get(kind) or [(None, {})])[0][1]


kust, cm, sec, job, dep, so = (one(k) for k in ("Kustomization", "ConfigMap", "Secret", "Job", "Deployment",
                                                "ScaledObject"))
res = kust.get("resources") or []
check(all(os.path.isfile(path("deploy", "k8s", r)) for r in res) and
      {f for f, _ in kinds.get("ConfigMap", []) + kinds.get("Job", []) + kinds.get("Deployment", [])} <= set(res)
      and not any("secret" in r or "keda" in r for r in res),
      f"kustomization: {', '.join(res)} (not the example Secret, not the optional ScaledObject)",
      f"kustomization resources {res}")
image_names = {i.get("name") for i in kust.get("images") or []}
cm_keys = set((cm.get("data") or {}))
sec_keys = set((sec.get("stringData") or {})) | set((sec.get("data") or {}))
cm_name, sec_name = (cm.get("metadata") or {}).get("name"), (sec.get("metadata") or {}).get("name")
keda_only = {"REDIS_ADDRESS", "REDIS_PASSWORD"}
unk = unknown_vars(cm_keys | sec_keys)
check(not unk and (cm_keys | sec_keys) - keda_only <= KNOWN_VARS,
      "ConfigMap and Secret keys are settings of the programs (and KEDA's REDIS_ADDRESS, REDIS_PASSWORD)",
      f"unknown ConfigMap/Secret keys: {sorted((cm_keys | sec_keys) - keda_only - KNOWN_VARS)}")
check({"MDW_SOURCE_DSN", "MDW_TARGET_DSN", "MDW_REDIS_URL"} <= sec_keys,
      "the Secret carries the connection strings", f"the Secret lacks connection strings: {sorted(sec_keys)}")
check(not ({"MDW_SOURCE_DSN", "MDW_TARGET_DSN", "MDW_REDIS_URL", "MDW_METRICS_TOKEN", "AWS_SECRET_ACCESS_KEY",
            "REDIS_PASSWORD"} & cm_keys), "the ConfigMap holds no secret", "secrets in the ConfigMap")


def pod_checks(kind, obj, want_script):
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    cs = spec.get("containers") or []
    if not check(len(cs) == 1, f"{kind}: one container", f"{kind}: {len(cs)} containers"):
        return spec, {}
    c = cs[0]
    check(c.get("image", "").split(":")[0] in image_names, f"{kind}: image {c.get('image')} (set by kustomization)",
          f"{kind}: image {c.get('image')} is not among the kustomization's images {image_names}")
    check(entrypoint_of(c.get("command"), kind) == want_script, f"{kind}: runs {want_script}",
          f"{kind}: does not run {want_script}")
    refs = {(("configMap" if "configMapRef" in e else "secret"),
             (e.get("configMapRef") or e.get("secretRef") or {}).get("name")) for e in c.get("envFrom") or []}
    check(refs == {("configMap", cm_name), ("secret", sec_name)}, f"{kind}: environment from {cm_name} and {sec_name}",
          f"{kind}: envFrom {refs}")
    unk = unknown_vars({e.get("name") for e in c.get("env") or []})
    check(not unk, f"{kind}: its own env variables are known settings", f"{kind}: unknown env {unk}")
    sc, csc = spec.get("securityContext") or {}, c.get("securityContext") or {}
    check(sc.get("runAsNonRoot") is True and str(sc.get("runAsUser")) == uid
          and csc.get("allowPrivilegeEscalation") is False and csc.get("readOnlyRootFilesystem") is True,
          f"{kind}: non-root (uid {uid}, the image's), no privilege escalation, read-only root",
          f"{kind}: security context {sc} {csc}")
    probe = (c.get("livenessProbe") or {}).get("exec", {}).get("command") or []
    check(probe[:1] == [IMAGE_LIB + "healthcheck.sh"], f"{kind}: liveness probe is healthcheck.sh",
          f"{kind}: liveness probe {probe}")
    return spec, c


jspec, jc = pod_checks("Job mdw-coordinator", job, "coordinator.sh")
check(jspec.get("restartPolicy") in ("Never", "OnFailure") and (job.get("spec") or {}).get("backoffLimit", 0) >= 1,
      "Job: restarts resume the run (backoffLimit)", "Job: restartPolicy/backoffLimit")
for rule in ((job.get("spec") or {}).get("podFailurePolicy") or {}).get("rules") or []:
    oc = rule.get("onExitCodes")
    if oc:
        check(oc.get("containerName") == jc.get("name"), "Job: podFailurePolicy names the coordinator container",
              f"Job: podFailurePolicy names container {oc.get('containerName')}")
dspec, dc = pod_checks("Deployment mdw-worker", dep, "worker.sh")
sel = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
labels = (((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
check(sel and all(labels.get(k) == v for k, v in sel.items()), "Deployment: selector matches the pod labels",
      f"Deployment: selector {sel} vs labels {labels}")
check(dspec.get("terminationGracePeriodSeconds", 30) >= 60,
      "Deployment: grace period lets a worker finish its chunk on SIGTERM", "Deployment: grace period under 60 s")

so_spec = so.get("spec") or {}
check((so_spec.get("scaleTargetRef") or {}).get("name") == (dep.get("metadata") or {}).get("name"),
      "ScaledObject scales the worker Deployment", "ScaledObject scaleTargetRef is not the worker Deployment")
trig = so_spec.get("triggers") or []
streams = [(t.get("metadata") or {}).get("stream") for t in trig]
check(sorted(streams) == sorted(f"mdw:{{1}}:q:{p}" for p in PHASES),
      f"ScaledObject: one trigger per phase stream, mdw:{{RUN}}:q:PHASE rendered for run 1 ({len(trig)} triggers)",
      f"ScaledObject streams {streams}, expected one per phase {PHASES}")
for t in trig:
    md = t.get("metadata") or {}
    okt = (t.get("type") == "redis-streams" and md.get("addressFromEnv") in cm_keys
           and md.get("passwordFromEnv") in sec_keys and "consumerGroup" not in md
           and str(md.get("streamLength", "")).isdigit())
    if not okt:
        fail(f"ScaledObject trigger {md.get('stream')}: expected type redis-streams, addressFromEnv from the "
             f"ConfigMap, passwordFromEnv from the Secret, streamLength, no consumerGroup: {t}")
check(so_spec.get("minReplicaCount", 0) >= 1,
      "ScaledObject keeps at least one worker (a new run starts before the ScaledObject follows it)",
      "ScaledObject minReplicaCount must be at least 1")

with open(DOCS_OUT, "w") as f:
    json.dump([{"file": f"deploy/k8s/{fn}", "doc": d} for fn, d in docs if d.get("kind") != "Kustomization"], f)

print(f"check_manifests: {len(failures)} problem(s)")
sys.exit(1 if failures else 0)
