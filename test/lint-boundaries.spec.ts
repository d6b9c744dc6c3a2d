import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The boundaries of README's "Layout" are enforced by the project's own ESLint configuration: each case lints a
 * forbidden import as the text of a real file of the project (so the type-aware rules see the real program) and
 * expects the rule that guards it to fail, next to a control that passes.
 */
const root = fileURLToPath(new URL('..', import.meta.url));

describe('lint boundaries', () => {
  let eslint: ESLint;
  beforeAll(() => {
    eslint = new ESLint({ cwd: root });
  });

  async function ruleFailures(filePath: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
    return (result?.messages ?? []).map((message) => `${message.ruleId ?? 'parse'}: ${message.message}`);
  }

  it('passes an import of a library through its index (the control)', async () => {
    expect(await ruleFailures('libs/realtime/subject-matcher.ts', "import { streamName } from '#libs/contracts';\nexport const named = streamName('quote', 'LSE:VOD');\n")).toEqual([]);
  }, 60_000);

  it('fails a library that imports src/', async () => {
    const failures = await ruleFailures('libs/redis/redis-connection.ts', "import { AppConfig } from '../../src/config/index.js';\nexport const config = AppConfig;\n");
    expect(failures).toEqual([expect.stringMatching(/^no-restricted-imports: .*libs\/ must not import src\//)]);
  }, 60_000);

  it('fails a deep import into a library, from a test as from src', async () => {
    const fromTest = await ruleFailures('test/support/gateway.ts', "import { streamName } from '../../libs/contracts/wire.js';\nexport const named = streamName;\n");
    expect(fromTest).toEqual([expect.stringMatching(/^no-restricted-imports: .*through its index/)]);
    const fromSrc = await ruleFailures('src/version.ts', "import { streamName } from '#libs/contracts/wire';\nexport const named = streamName;\n");
    // (The unresolvable path also fails the type-aware rules; the boundary rule is the one that names the fix.)
    expect(fromSrc).toContainEqual(expect.stringMatching(/^no-restricted-imports: .*through its index/));
  }, 60_000);

  it('fails a library that imports one above it in the layering, even for a type', async () => {
    const failures = await ruleFailures('libs/rate-limit/rate-rule.ts', "import type { GatewaySocket } from '#libs/realtime';\nexport type Socket = GatewaySocket;\n");
    expect(failures).toEqual([expect.stringMatching(/^no-restricted-imports: .*libs\/rate-limit may use only/)]);
  }, 60_000);

  it('fails an import cycle', async () => {
    const failures = await ruleFailures('libs/realtime/subject-matcher.ts', "import { StreamFanout } from './index.js';\nexport const fanout = StreamFanout;\n");
    expect(failures).toEqual([expect.stringMatching(/^import-x\/no-cycle: /)]);
  }, 60_000);
});
