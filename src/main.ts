import { ConfigError, loadConfig } from "./config.ts";
import { demoBanner, ensureAdmin, seedDemo } from "./demo/index.ts";
import { createLogger } from "./log.ts";
import { parseRoles, ServiceUnreachableError, startPlatform } from "./platform.ts";

const HOW_TO_START: Record<ServiceUnreachableError["service"], string> = {
  PostgreSQL: "apt-get install postgresql && pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
  NATS: "apt-get install nats-server && nats-server -js -a 127.0.0.1 -p 4222 -sd /var/lib/nats-server &",
  Redis: "apt-get install redis-server && redis-server --daemonize yes --bind 127.0.0.1",
};

const demo = process.argv.includes("--demo");

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const log = createLogger(config.LOG_LEVEL);

let platform;
try {
  platform = await startPlatform(config, log, parseRoles(config.ROLE));
} catch (err) {
  if (err instanceof ServiceUnreachableError) {
    console.error(
      `\n${err.message}.\nStart it (Debian): ${HOW_TO_START[err.service]}\n` +
        `or run the services alone with Docker: docker compose up -d postgres nats redis\n`,
    );
    process.exit(3);
  }
  log.fatal({ err }, "start failed");
  process.exit(1);
}

if (platform.url) await ensureAdmin(platform.db, platform.auth, config);
if (demo && platform.url) {
  const seeded = await seedDemo(platform.db, platform.auth, platform.bus, config);
  console.log(demoBanner(platform.url, seeded));
} else {
  log.info({ url: platform.url, pipelines: [...platform.runners.keys()] }, "tidecast started");
}

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down: draining requests and in-flight messages");
    const timer = setTimeout(() => {
      log.error("shutdown timed out");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS * 2);
    timer.unref();
    platform.close().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err) => {
        log.error({ err }, "shutdown finished with errors");
        process.exit(1);
      },
    );
  });
}
