import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

// Adds `.openapi()` to zod schemas; every API schema imports `z` from here so the extension is in place.
extendZodWithOpenApi(z);

export { z };
