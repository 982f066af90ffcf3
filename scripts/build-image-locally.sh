#!/usr/bin/env bash
# Builds the Docker image on a machine that cannot reach the public image registry, then checks
# it the way a user would run it. The base image is stood in: a Debian root from debootstrap
# (the suite the Dockerfile's base names), the Node.js release from the npm registry's
# node-linux-<arch> package in /usr/local, npm, a `node` user with uid 1000, and the official
# image's entrypoint behaviour, imported under the tag the Dockerfile names. A digest cannot
# match a locally imported image, so the build is given that tag without the digest.
#
# Needs root, docker (Debian: docker.io) and debootstrap. Starts a dockerd of its own when none
# answers, and stops it at the end. Usage: scripts/build-image-locally.sh [--no-checks]
set -euo pipefail
cd "$(dirname "$0")/.."

work="${WORK_DIR:-/tmp/slack-managed-agents-image}"
mkdir -p "$work"
version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)"
image="${IMAGE:-slack-managed-agents:$version}"
base_ref="$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)"
base_tag="${base_ref%@sha256:*}"
node_version="$(sed -E 's/^node:([0-9.]+)-.*/\1/' <<<"$base_tag")"
suite="$(sed -E 's/^node:[0-9.]+-([a-z]+)-slim$/\1/' <<<"$base_tag")"
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) echo "unsupported $(uname -m)" >&2; exit 1 ;; esac

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
  dockerd --iptables=false --bridge=none >"$work/dockerd.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 150); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start, see $work/dockerd.log" >&2; exit 1; }
fi

if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
  echo "== standing in $base_tag"
  started=$(date +%s)
  # libatomic1: Node.js 26's binary links it (the official image installs it too).
  rootfs="$work/rootfs-$suite"
  if [[ ! -x "$rootfs/bin/sh" ]]; then
    rm -rf "$rootfs.partial"
    debootstrap --variant=minbase --include=libatomic1 "$suite" "$rootfs.partial" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    mv "$rootfs.partial" "$rootfs"
  fi
  base="$work/base-$node_version"
  rm -rf "$base" && cp -a "$rootfs" "$base"
  # The npm that comes with the machine's own Node.js stands in for the one the release bundles.
  npm_version="${NPM_VERSION:-$(npm --version)}"
  (cd "$work" && npm pack --silent "node-linux-$arch@$node_version" "npm@$npm_version" >/dev/null)
  tar -xzf "$work/node-linux-$arch-$node_version.tgz" -C "$base/usr/local" --strip-components=1 \
    package/bin package/include package/share
  mkdir -p "$base/usr/local/lib/node_modules/npm"
  tar -xzf "$work/npm-$npm_version.tgz" -C "$base/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$base/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$base/usr/local/bin/npx"
  # As the official image: a command that is not one (`-e …`, a script) is given to node.
  cat >"$base/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
  chmod 755 "$base/usr/local/bin/docker-entrypoint.sh"
  # Where this machine reaches the npm registry through a proxy with its own certificate
  # authority, the stand-in trusts the machine's CA bundle (the official image needs no such file).
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    mkdir -p "$base/etc/ssl/certs" "$base/usr/local/etc"
    cp /etc/ssl/certs/ca-certificates.crt "$base/etc/ssl/certs/"
    echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$base/usr/local/etc/npmrc"
  fi
  chroot "$base" groupadd --gid 1000 node
  chroot "$base" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  rm -rf "$base"/var/lib/apt/lists/* "$base"/var/cache/apt/*.bin
  tar -C "$base" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$node_version" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["node"]' - "$base_tag" >/dev/null
  rm -rf "$base"
  echo "stood in in $(($(date +%s) - started)) s"
fi

echo "== building $image on $base_tag"
source_url="$(git remote get-url origin 2>/dev/null | sed -E 's#^[a-z]+://[^/@]*@#https://#' || true)"
started=$(date +%s)
docker build --network=host \
  --build-arg NODE_IMAGE="$base_tag" \
  --build-arg REVISION="$(git rev-parse HEAD)" \
  --build-arg SOURCE_URL="$source_url" \
  -t "$image" . >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
echo "built in $(($(date +%s) - started)) s; image size $(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"

[[ "${1:-}" == "--no-checks" ]] && exit 0

echo "== checks"
echo "user: $(docker run --rm --entrypoint id "$image")"
echo "sqlite3 in the image: $(docker run --rm --entrypoint sh "$image" -c 'echo "$(du -sh node_modules/sqlite3 | cut -f1), $(find node_modules/sqlite3 -type f \( -name "*.o" -o -name "*.a" -o -name "*.c" -o -name "*.tar.gz" \) | wc -l) compiler files left"')"
echo "labels: $(docker image inspect -f '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}' "$image")"
echo "on top of the base: $(($(docker image inspect -f '{{.Size}}' "$image") - $(docker image inspect -f '{{.Size}}' "$base_tag"))) bytes"

set +e
config_error="$(docker run --rm "$image" 2>&1 >/dev/null)"
code=$?
set -e
echo "no configuration: exit $code, stderr: $config_error"
[[ $code -eq 1 && $(wc -l <<<"$config_error") -eq 1 ]] || { echo "expected exit 1 and one line" >&2; exit 1; }

# Stand-ins for Slack (auth.test) and the Managed Agents API (creating the default agent and
# environment), so that the bot starts, stores ids in SQLite and reports healthy.
stub_port="${STUB_PORT:-39181}"
bot_port="${BOT_PORT:-39182}"
node -e '
  const http = require("node:http");
  http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      if (req.url.startsWith("/api/auth.test")) return res.end(JSON.stringify({ ok: true, user_id: "UBOT", bot_id: "BBOT", team_id: "T1", url: "https://stub.slack.com/" }));
      if (req.url.startsWith("/api/")) return res.end(JSON.stringify({ ok: true }));
      if (req.method === "POST" && req.url.startsWith("/v1/agents")) return res.end(JSON.stringify({ id: "agent_stub", type: "agent", version: 1 }));
      if (req.method === "POST" && req.url.startsWith("/v1/environments")) return res.end(JSON.stringify({ id: "env_stub", type: "environment" }));
      res.statusCode = 404;
      res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: "stub" } }));
    });
  }).listen(Number(process.argv[1]), "127.0.0.1");
' "$stub_port" &
pids+=("$!")

volume="slack-managed-agents-check-$$"
container="slack-managed-agents-check-$$"
docker volume create "$volume" >/dev/null
docker run -d --name "$container" --network=host --user 12345:0 --read-only --tmpfs /tmp \
  -v "$volume:/data" -e PORT="$bot_port" \
  -e SLACK_BOT_TOKEN=xoxb-stub -e SLACK_SIGNING_SECRET=stub -e ANTHROPIC_API_KEY=stub \
  -e SLACK_API_URL="http://127.0.0.1:$stub_port/api/" -e ANTHROPIC_BASE_URL="http://127.0.0.1:$stub_port" \
  "$image" >/dev/null
health=starting
for _ in $(seq 1 60); do
  health="$(docker inspect -f '{{.State.Health.Status}}' "$container")"
  [[ "$health" != starting ]] && break
  sleep 1
done
echo "as uid 12345, read-only root, tmpfs /tmp: health $health"
echo "/data: $(docker run --rm --entrypoint ls -v "$volume:/data" "$image" -ln /data | tail -n +2 | awk '{print $1, $3":"$4, $NF}' | paste -sd ' ')"
started=$(date +%s%N)
docker stop "$container" >/dev/null
echo "docker stop: $((($(date +%s%N) - started) / 1000000)) ms, exit code $(docker inspect -f '{{.State.ExitCode}}' "$container"), last log: $(docker logs "$container" 2>&1 | tail -1 | cut -c1-160)"
docker rm "$container" >/dev/null
docker volume rm "$volume" >/dev/null
[[ "$health" == healthy ]] || { echo "expected healthy" >&2; exit 1; }
