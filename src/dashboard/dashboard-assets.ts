import { fileURLToPath } from 'node:url';

/**
 * The built dashboard (page, stylesheet, bundled app): written by build-dashboard.ts, served by the gateway at `/`.
 * Resolved from this module's place in dist/ (dist/src/dashboard → dist/dashboard), not from the working directory.
 */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));
