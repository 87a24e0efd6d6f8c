# The deployer as docker-compose.yml runs it: Node 20, the same install as on a laptop (npm ci),
# and the same entry point as `npm start`.
FROM node:20-slim

WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only (tsx is one of them): tests and generators stay out of the image.
RUN npm ci --omit=dev && npm cache clean --force
COPY tsconfig.json ./
COPY server ./server
COPY db ./db
COPY sdk ./sdk

USER node
ENV PORT=8080
EXPOSE 8080
# `npm start` runs `tsx server/main.ts` under npm and sh, and they do not pass `docker stop`'s
# SIGTERM on to the deployer. This is the same program as one process, which gets the signal and
# shuts down cleanly (HTTP drained, pg-boss stopped) within 10 seconds.
CMD ["node", "--import", "tsx", "server/main.ts"]
