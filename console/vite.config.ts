import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// Built into console/dist, which the API serves at /console (src/api/console-static.ts).
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/console/",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 600 },
  server: {
    // `npx vite console` during development: API calls and the socket go to a running `npm start`
    proxy: { "/api": "http://127.0.0.1:8000", "/admin": "http://127.0.0.1:8000", "/socket.io": { target: "ws://127.0.0.1:8000", ws: true } },
  },
});
