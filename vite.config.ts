import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The GUI page: sources in src/gui/web, built into dist/gui/web where the peer's GUI server finds it.
export default defineConfig({
  root: fileURLToPath(new URL("./src/gui/web", import.meta.url)),
  base: "/",
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("./dist/gui/web", import.meta.url)),
    emptyOutDir: true,
    // No inline assets: the Content-Security-Policy only allows files served by the peer.
    assetsInlineLimit: 0,
  },
});
