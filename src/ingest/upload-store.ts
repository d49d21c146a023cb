import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { Objm, type ObjectInfo, type ObjectStore } from "@nats-io/obj";
import type { Bus } from "../streams/index.ts";

/** Uploads nobody imported (a crash between upload and job, a failed import) are dropped after this. */
const UPLOAD_TTL_MS = 7 * 86_400_000;

/**
 * Uploaded files, kept in a JetStream object store until their import has run: every process of an
 * install sees the same files, so the API that received an upload and the worker that imports it
 * may be different processes.
 */
export interface UploadStore {
  readonly bucket: string;
  /** Stores a stream under `name`; when the stream fails, nothing is kept and the error is thrown. */
  put(name: string, data: Readable): Promise<{ size: number }>;
  /** The stored bytes as a Node stream, or null when there is no such object. */
  open(name: string): Promise<Readable | null>;
  remove(name: string): Promise<void>;
}

export function uploadsBucket(streamPrefix: string): string {
  return `${streamPrefix}TIDECAST_UPLOADS`;
}

/**
 * The upload store of an install. The bucket is created (or opened) on first use, so a process
 * that never sees an upload (and every test that makes none) leaves no bucket behind.
 */
export function openUploadStore(bus: Bus, streamPrefix: string): UploadStore {
  const bucket = uploadsBucket(streamPrefix);
  let opening: Promise<ObjectStore> | null = null;
  const store = () =>
    (opening ??= new Objm(bus.js).create(bucket, { ttl: UPLOAD_TTL_MS * 1_000_000 }).catch((err: unknown) => {
      opening = null;
      throw err;
    }));
  return {
    bucket,
    async put(name, data) {
      // the object store reads the web stream chunk by chunk, publishing each before the next
      // read, so an upload is never held in memory whole
      const info = await (await store()).put({ name }, Readable.toWeb(data) as ReadableStream<Uint8Array>);
      return { size: info.size };
    },
    async open(name) {
      const info = await (await store()).info(name);
      if (!info || info.deleted) return null;
      return readChunks(bus, bucket, info);
    },
    async remove(name) {
      await (await store()).delete(name);
    },
  };
}

/**
 * An object's bytes, fetched one chunk at a time as the reader asks for them. The object store's
 * own `get` pushes every chunk into memory as fast as the server sends them (a 16 MB upload would
 * sit in memory whole); here each chunk is a direct get of the next message on the object's chunk
 * subject (the object store layout: `$O.<bucket>.C.<nuid>`), and the digest is checked at the end.
 */
function readChunks(bus: Bus, bucket: string, info: ObjectInfo): Readable {
  const stream = `OBJ_${bucket}`;
  const subject = `$O.${bucket}.C.${info.nuid}`;
  const hash = createHash("sha256");
  let seq = 0;
  let chunks = 0;
  return new Readable({
    async read() {
      try {
        if (chunks === info.chunks) {
          const digest = `SHA-256=${hash.digest("base64url")}`;
          if (digest !== info.digest.replace(/=+$/, "")) throw new Error(`object ${info.name} is corrupt: its digest is not ${info.digest}`);
          this.push(null);
          return;
        }
        const m = await bus.jsm.direct.getMessage(stream, { next_by_subj: subject, seq: seq + 1 });
        if (!m) throw new Error(`object ${info.name} is missing chunk ${chunks + 1} of ${info.chunks}`);
        seq = m.seq;
        chunks++;
        hash.update(m.data);
        this.push(m.data);
      } catch (err) {
        this.destroy(err as Error);
      }
    },
  });
}
