import { defineConfig } from 'vite';

// Relative URLs ('./') so the same files work under any base path (@saker/ui
// injects <base href>); no inline scripts or styles, so the strict CSP holds.
export default defineConfig({
  root: 'src/web',
  base: './',
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
