import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Served by the platform under /console/; the platform's build step passes --outDir.
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    sourcemap: false,
    // The usage chart (Recharts) is loaded only when the Usage tab opens: the first load
    // stays small (the 300 KB gzipped budget is checked by the browser tests).
    chunkSizeWarningLimit: 600,
  },
});
