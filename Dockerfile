# syntax=docker/dockerfile:1
# Multi-stage: compile TypeScript with dev dependencies, ship only production dependencies and the build.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install honours the lock; npm ci refuses a lock that lacks other platforms' optional packages (see .ci/run).
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY schemas ./schemas
COPY src ./src
COPY adapters ./adapters
COPY bench ./bench
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force
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
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["start", "--sandbox=false"]
