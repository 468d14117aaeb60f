# One image for every app of the monorepo; APP picks which one runs (platform, gateway,
# enrollment, procedures, adverse-events, adjudication, reporting). Node 22 LTS: Node 20 reached
# its end of life; package.json's engines still admit 20.19+ for development machines.
#   docker build --build-arg APP=gateway -t trial-adjudication-gateway .

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# One tsc program compiles every app and lib into dist/; check them all so a build that left an
# app out fails here rather than when its container starts.
RUN npm run build \
 && for app in platform gateway enrollment procedures adverse-events adjudication reporting; do \
      test -f "dist/apps/$app/src/main.js" || { echo "npm run build did not produce dist/apps/$app/src/main.js" >&2; exit 1; }; \
    done

# Production dependencies only, installed apart so the dev toolchain never reaches the runtime image.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:22-bookworm-slim AS runtime
ARG APP=platform
ENV NODE_ENV=production \
    APP=${APP} \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# trialctl (verify, replay, import an audit export) runs the compiled dist/scripts/trialctl.js: no tsx here.
#   docker run --rm -v "$PWD:/work" <image> trialctl verify /work/export.ndjson   (or npx trialctl … in /app)
COPY bin ./bin
# The embedded platform keeps PGlite data and its generated JWT secret in DATA_DIR; the services use PostgreSQL.
RUN mkdir -p /data && chown node:node /data \
 && ln -s /app/bin/trialctl.js /usr/local/bin/trialctl \
 && test -f dist/scripts/trialctl.js
USER node
EXPOSE 3000
# Slim images carry no curl: Node's fetch probes /health, which answers 200 once the API is ready.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# sh -c so APP is read when the container starts; exec so node gets SIGTERM and shuts down cleanly.
# A 16 MiB young generation (V8's default, stated so a Node upgrade does not move it): with 64 MiB a
# rebuild from the log was ~8% faster, but under commands each scavenge paused the process 12 ms on
# average instead of 4.5, and a command's p99 rose with them (bench:http, issue #18).
CMD ["sh", "-c", "exec node --max-semi-space-size=16 \"dist/apps/${APP}/src/main.js\""]
