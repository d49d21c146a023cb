/**
 * Receiving a CSV upload: the multipart body is streamed straight into the upload store while it
 * is hashed and its first line read, so a 16 MB file costs the API a few chunks of memory, and a
 * file that is too large, binary or has no header is refused with nothing kept.
 */
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { pipeline, Transform, type TransformCallback } from "node:stream";
import busboy from "busboy";
import { AppError, BadRequestError, PayloadTooLargeError, ServiceUnavailableError, UnsupportedMediaTypeError, ValidationError } from "../errors.ts";
import { CsvFormatError, headerFromSample } from "./csv.ts";
import type { UploadStore } from "./upload-store.ts";

/** The multipart field that carries the file. */
export const FILE_FIELD = "file";
/** Bytes read for the header line (and checked for binary content). */
const SAMPLE_BYTES = 64 * 1024;
/** Room for the multipart framing and text fields on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;

export interface ReceivedUpload {
  /** the object holding the bytes in the upload store */
  objectName: string;
  fileName: string;
  /** hex SHA-256 of the file's bytes: `sha256sum` of the same file prints it */
  sha256: string;
  size: number;
  /** the first line's column names, trimmed */
  header: string[];
  /** the form's text fields */
  fields: Record<string, string>;
}

/**
 * Streams the `file` part of a multipart/form-data request into `store`. On any failure the stored
 * object is removed and the error says what was wrong: 415 not multipart or not text, 413 over
 * `maxBytes`, 400 no file or a broken body, 422 empty or without a readable header.
 */
export async function receiveUpload(req: IncomingMessage, store: UploadStore, maxBytes: number): Promise<ReceivedUpload> {
  if (!/^multipart\/form-data\b/i.test(req.headers["content-type"] ?? "")) {
    throw new UnsupportedMediaTypeError(`multipart/form-data with the CSV in a field named "${FILE_FIELD}"`);
  }
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes + MULTIPART_OVERHEAD) throw new PayloadTooLargeError(maxBytes);

  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: maxBytes, fields: 10, fieldSize: 1024, parts: 20 } });
  } catch (err) {
    throw new BadRequestError(`malformed multipart request: ${(err as Error).message}`);
  }

  const fields: Record<string, string> = {};
  // a holder, not a `let`: the file arrives in a callback
  const part: { file: { objectName: string; fileName: string; inspector: Inspector; stored: Promise<unknown> } | null } = { file: null };
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on("field", (name, value) => {
      if (name !== "__proto__") fields[name] = value;
    });
    parser.on("file", (name, stream, info) => {
      if (name !== FILE_FIELD || part.file) {
        stream.resume();
        return;
      }
      const inspector = new Inspector();
      // too large or binary: answered at once, without waiting for the rest of the body
      inspector.on("error", reject);
      stream.on("limit", () => inspector.destroy(new PayloadTooLargeError(maxBytes)));
      // pipeline: an error on either side (the checks above, a client that went away) ends both
      pipeline(stream, inspector, () => undefined);
      const objectName = randomUUID();
      const stored = store.put(objectName, inspector);
      // observed when awaited below; this keeps an early failure from being reported as unhandled
      stored.catch(() => undefined);
      part.file = { objectName, fileName: info.filename ?? "upload.csv", inspector, stored };
    });
    parser.on("close", resolve);
    parser.on("error", (err) => reject(new BadRequestError(`malformed multipart request: ${(err as Error).message}`)));
    req.on("error", reject);
  });
  req.pipe(parser);

  try {
    await parsed;
    const f = part.file;
    if (!f) throw new BadRequestError(`no file: send the CSV in a multipart field named "${FILE_FIELD}"`);
    await f.stored.catch((err: unknown) => {
      throw err instanceof AppError ? err : new ServiceUnavailableError("the upload store is unavailable; try again", { cause: String(err) });
    });
    const { inspector } = f;
    if (inspector.size === 0) throw new ValidationError("the file is empty; expected a header row and data rows");
    const header = readHeader(inspector.sample(), inspector.size <= SAMPLE_BYTES);
    return { objectName: f.objectName, fileName: f.fileName, sha256: inspector.digest(), size: inspector.size, header, fields };
  } catch (err) {
    // the rest of the body is read and dropped, so the client gets to read the error response
    req.unpipe(parser);
    req.resume();
    if (part.file) {
      part.file.inspector.destroy(new Error("upload refused"));
      await part.file.stored.catch(() => undefined);
      await store.remove(part.file.objectName).catch(() => undefined);
    }
    throw err;
  }
}

function readHeader(sample: Buffer, complete: boolean): string[] {
  let header: string[] | null;
  try {
    header = headerFromSample(sample, complete);
  } catch (err) {
    if (err instanceof CsvFormatError) throw new ValidationError(`not a CSV file: ${err.message}`);
    throw err;
  }
  if (header === null) throw new ValidationError(`the first line is longer than ${SAMPLE_BYTES} bytes; expected a CSV header row`);
  return header;
}

/** Passes the bytes on while hashing them, counting them and keeping the first SAMPLE_BYTES. */
class Inspector extends Transform {
  private readonly hash = createHash("sha256");
  private readonly head: Buffer[] = [];
  private headBytes = 0;
  size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    this.hash.update(chunk);
    if (this.headBytes < SAMPLE_BYTES) {
      const part = chunk.subarray(0, SAMPLE_BYTES - this.headBytes);
      // text never holds a NUL byte; a spreadsheet, an archive or an image does, early on
      if (part.includes(0)) {
        callback(new UnsupportedMediaTypeError("a CSV file (text); this file is binary"));
        return;
      }
      this.head.push(part);
      this.headBytes += part.length;
    }
    callback(null, chunk);
  }

  sample(): Buffer {
    return Buffer.concat(this.head);
  }

  digest(): string {
    return this.hash.digest("hex");
  }
}
