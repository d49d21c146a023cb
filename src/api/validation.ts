import type { z } from "zod";
import { ValidationError } from "../errors.ts";

/** Parses input with a schema; failures become a 422 whose details map each field to its problems. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details: Record<string, string[]> = {};
  for (const issue of result.error.issues) {
    const paths =
      issue.code === "unrecognized_keys"
        ? issue.keys.map((k) => [...issue.path, k].join("."))
        : [issue.path.join(".") || where];
    for (const path of paths) {
      const message = issue.code === "unrecognized_keys" ? "unknown field" : issue.message;
      (details[path] ??= []).push(message);
    }
  }
  const fields = Object.keys(details);
  throw new ValidationError(`Invalid ${where}: ${fields.slice(0, 5).join(", ")}${fields.length > 5 ? ", ..." : ""}`, details);
}
