import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Sdk from '#libs/client';
import { PROJECT_ROOT } from './paths.js';

/**
 * @tradewire/client as its package ships it (libs/client/dist, what `npm pack` puts in the tarball, built by
 * `npm run build`), typed from its source: the bench measures what a customer installs.
 */
export async function loadSdkPackage(): Promise<typeof Sdk> {
  return (await import(pathToFileURL(join(PROJECT_ROOT, 'libs', 'client', 'dist', 'index.js')).href)) as typeof Sdk;
}
