import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import type { Config } from "../../src/config.ts";
import { ROOT_DIR } from "../../src/config.ts";

/** Runs `src/main.ts` as a real child process with a test config, as an operator would run it. */
export function startChild(config: Config, env: Record<string, string>, args: string[] = []) {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", resolve(ROOT_DIR, "src/main.ts"), ...args], {
    cwd: ROOT_DIR,
    env: {
      ...process.env,
      NODE_ENV: "test",
      NATS_URL: config.NATS_URL,
      DATABASE_URL: config.DATABASE_URL,
      REDIS_URL: config.REDIS_URL,
      DATABASE_SCHEMA: config.DATABASE_SCHEMA,
      STREAM_PREFIX: config.STREAM_PREFIX,
      SUBJECT_PREFIX: config.SUBJECT_PREFIX,
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    exited,
    output: () => output,
    /** resolves once the process logged `text` */
    waitFor: (text: string, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`child never printed "${text}":\n${output}`)), timeoutMs);
        const check = () => {
          if (output.includes(text)) {
            clearTimeout(timer);
            resolve();
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`child exited before "${text}":\n${output}`));
          } else setTimeout(check, 50);
        };
        check();
      }),
  };
}
