# The base of both stages: Node.js 26 (LTS) on Debian 13 "trixie", slim. It is the same release
# as .node-version, which CI runs `npm test` on (test/unit/dockerfile.test.ts checks that they
# agree and that this file keeps the rules below). The argument takes a whole image reference,
# so a mirror or a locally stood-in base can be named without editing this file:
#   docker build --build-arg NODE_IMAGE=mirror.example.com/library/node:26.12.1-trixie-slim@sha256:<digest> .
# To pin the digest: `docker pull node:26.12.1-trixie-slim` and append
# `@sha256:…` from `docker inspect --format '{{index .RepoDigests 0}}' node:26.12.1-trixie-slim`.
ARG NODE_IMAGE=node:26.12.1-trixie-slim

# Build stage: compiles TypeScript and, when no prebuilt binary can be downloaded, the SQLite
# native addon (hence the toolchain).
FROM ${NODE_IMAGE} AS build
# node-gyp builds against the headers the base carries, instead of downloading them, on every core.
ENV npm_config_nodedir=/usr/local \
    JOBS=max
WORKDIR /app
# sqlite3 builds with the node-gyp 8 it depends on, whose gyp imports distutils: Python 3.12 and
# later (trixie has 3.13) have it only through setuptools.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-setuptools make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Production dependencies only, and of sqlite3 only what runs (its JavaScript and the compiled
# node_sqlite3.node): its objects, static libraries and bundled SQLite sources (~23 MB) stay in
# this stage, and so does the node-gyp 8 it builds with (its optional dependency, the only
# optional packages in the production tree). The last line proves that the addon still loads.
RUN npm run build \
 && npm prune --omit=dev --omit=optional --no-audit --no-fund \
 && find node_modules/sqlite3/build -type f ! -path node_modules/sqlite3/build/Release/node_sqlite3.node -delete \
 && find node_modules/sqlite3/build -depth -type d -empty -delete \
 && rm -rf node_modules/sqlite3/deps node_modules/sqlite3/src \
 && node -e "new (require('sqlite3').Database)(':memory:').close()"

# Runtime stage: the compiled app and production dependencies, no toolchain.
FROM ${NODE_IMAGE}
ARG NODE_IMAGE
# The version label follows package.json's (the Dockerfile test checks it); the build script
# passes the commit and the repository's address.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE_URL=
LABEL org.opencontainers.image.title="slack-managed-agents" \
      org.opencontainers.image.description="Run Claude Managed Agents from Slack: a thread is a session." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
ENV NODE_ENV=production \
    PORT=3000 \
    STORE_URL=sqlite:///data/bot.sqlite
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# /data belongs to uid 1000 and group 0, group-writable, setgid: any uid the platform picks
# (OpenShift runs an arbitrary one in group 0) can create the SQLite file and its journal there.
RUN mkdir -p /data && chown 1000:0 /data && chmod 2775 /data
# Numeric, so Kubernetes can verify runAsNonRoot: uid 1000 is the base image's `node` user.
USER 1000:0
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Exec form: node is PID 1 and gets SIGTERM itself (npm start would not pass it on).
# The heap cap as in `npm start` (see README, Memory); raise it with your own CMD for more sessions.
CMD ["node", "--max-old-space-size=256", "dist/src/main.js"]
