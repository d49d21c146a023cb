# The console is built with Vite, a devDependency: a stage with every dependency builds it, and
# the image keeps only its static output (console/dist) beside the production dependencies.
FROM node:20-bookworm-slim AS console
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# no install scripts: the build needs only TypeScript and Vite, not onnxruntime's native setup
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY console ./console
# the console's tsconfig type-checks the event map it shares with the server
COPY src/console/events.ts ./src/console/events.ts
RUN npm run build:console

FROM node:20-bookworm-slim
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL_CUDA=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY pipelines ./pipelines
COPY migrations ./migrations
COPY models ./models
# only the build, not console/'s sources or build-check.mjs: the start command (src/launch.mjs)
# then has nothing to rebuild, and the API serves it at /console
COPY --from=console /app/console/dist ./console/dist
ENV NODE_ENV=production PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=6 CMD node -e "fetch('http://127.0.0.1:8000/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# the start command: runs src/main.ts with the V8 flags for its ROLE (src/node-flags.mjs)
# and forwards SIGTERM to it; NODE_ENV=production, so no demo data
CMD ["node", "src/launch.mjs"]
