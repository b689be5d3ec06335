# syntax=docker/dockerfile:1
#
# swarmcast image: `docker build -t swarmcast:dev .`
# Stage 1 compiles with every dependency; stage 2 holds production dependencies and the
# compiled output only, and runs as the unprivileged `node` user. docs/deployment.md.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `prepare` runs tsc, and the sources are not here yet: install without scripts, build below.
RUN npm ci --ignore-scripts --no-audit --no-fund
# The file store's SQLite (better-sqlite3) is a native module: fetch its prebuilt binary
# (prebuild-install) here, where scripts may run; the runtime stage copies it.
RUN npm rebuild better-sqlite3
COPY . .
# Everything the runtime needs is what `npm run build` writes under dist/ (any bundle step too).
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# DRAIN_TIMEOUT_MS: main.ts exits at the latest 2 s after the drain timeout, so 7 s fits
# Docker's default 10 s between SIGTERM and SIGKILL. dev-stack.yml raises both together.
ENV NODE_ENV=production \
    PORT=8080 \
    DRAIN_TIMEOUT_MS=7000
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/node_modules/better-sqlite3/build ./node_modules/better-sqlite3/build
USER node
EXPOSE 8080
# The node drains on SIGTERM (1012 to every socket, /readyz 503) and exits 0. Exec-form CMD:
# node is PID 1 and gets the signal itself, not through npm or a shell.
STOPSIGNAL SIGTERM
# Liveness only (/healthz): a node whose Redis is away is alive and answers 503 on /readyz;
# restarting it would not bring Redis back. Node's own fetch, so the image needs no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||process.env.SERVER_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
