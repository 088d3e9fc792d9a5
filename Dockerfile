# syntax=docker/dockerfile:1
# Multi-stage: compile TypeScript with dev dependencies, ship only production dependencies and the build.
# The base image is pinned to a Node 24 LTS minor (raise it deliberately); both stages install exactly the lock (npm ci).
FROM node:24.22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY schemas ./schemas
COPY src ./src
COPY adapters ./adapters
COPY bench ./bench
RUN npm run build

FROM node:24.22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY schemas ./schemas
COPY config ./config
COPY bin ./bin
RUN mkdir -p /app/.caseway && chown node:node /app/.caseway
USER node
EXPOSE 8080
# Both roles answer /healthz on PORT (a worker serves only probes and /metrics there).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/src/cli/main.js"]
# Real peers only; the hub refuses to start without CASEWAY_API_TOKEN, its own ops hashes and CASEWAY_DATA_KEY.
ENV CASEWAY_CONFIG=/app/config/docker.yaml \
    CASEWAY_SANDBOX=false
CMD ["start"]
