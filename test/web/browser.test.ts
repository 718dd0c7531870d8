/**
 * `ralph web` in a real browser: Debian's Chromium driven through playwright-core, against the built CLI and
 * real loops run by the fake agent. The fleet lists the loops and a status change shows up without a reload;
 * the loop page's terminal shows the loop's screen; taking the keyboard and typing reaches the agent (its
 * echo appears in the terminal's buffer); stop works; an ended loop shows its cost in the fleet and its
 * transcript on its page. Screenshots go to test-results/web/.
 *
 * Without Chromium the tests are skipped with a notice; RALPH_REQUIRE_BROWSER=1 (set by .ci/run) makes its
 * absence a failure. RALPH_CHROMIUM names another Chromium binary.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium } from '../../scripts/chromium.mjs';
import { ROOT } from '../cli/built.js';
import { useCliSandbox } from '../cli/harness.js';
import { startWeb } from './support.js';

const REQUIRE_ENV = 'RALPH_REQUIRE_BROWSER';
const SHOTS = join(ROOT, 'test-results', 'web');

const executable = findChromium();
const required = process.env[REQUIRE_ENV] === '1';
if (executable === null && !required) {
  console.warn(
    `[web] SKIPPING the browser tests (test/web/browser.test.ts): Chromium was not found. Install it ` +
      `(Debian: apt-get install chromium) or set RALPH_CHROMIUM; ${REQUIRE_ENV}=1 makes its absence a failure ` +
      `(.ci/run sets it).`,
  );
}

const sb = useCliSandbox();
let browser: Browser | undefined;

beforeAll(async () => {
  if (executable === null) return;
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: executable,
    // Root cannot use Chromium's sandbox; the browser only ever opens our own loopback page here.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
});

afterAll(async () => {
  await browser?.close();
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** The text of the loop page's terminal buffer, as xterm.js holds it. */
function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const term = (
      globalThis as unknown as {
        ralphTerminal?: {
          buffer: {
            active: {
              length: number;
              getLine(i: number): { translateToString(trim: boolean): string } | undefined;
            };
          };
        };
      }
    ).ralphTerminal;
    if (!term) return '';
    const lines: string[] = [];
    for (let i = 0; i < term.buffer.active.length; i += 1)
      lines.push(term.buffer.active.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  });
}

describe.runIf(executable === null && required)('ralph web in Chromium, required', () => {
  it('finds Chromium', () => {
    expect.fail(
      `${REQUIRE_ENV}=1 but no Chromium was found (apt-get install chromium, or set RALPH_CHROMIUM)`,
    );
  });
});

describe.skipIf(executable === null)('ralph web in Chromium', () => {
  it('lists the loops, follows a stop without a reload, shows the terminal and takes keys', async () => {
    const task = sb().makeTask('web-browser', {
      stories: 2,
      script: {
        iterations: [
          [{ print: 'BROWSER ready' }, { echo: { until: 'quit\r', timeoutMs: 60_000 } }, { hang: true }],
        ],
        steps: [{ hang: true }],
      },
    });
    const other = sb().makeTask('web-other', {
      script: { steps: [{ print: 'OTHER running' }, { hang: true }] },
    });
    const spender = sb().makeTask('web-spent', {
      script: [{ replay: { file: 'claude-basic.ndjson', costUsd: 0.02 } }],
    });
    await sb().start(task);
    await sb().start(other);
    await sb().start(spender, ['--stream-format', 'claude', '-n', '2']);
    const web = await startWeb(sb());
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    try {
      const login = `http://127.0.0.1:${web.port}/?token=${web.token}`;
      await page.goto(login);
      expect(new URL(page.url()).search).toBe('');
      const row = page.locator('tr[data-key="local/web-browser"]');
      await row.waitFor({ timeout: 20_000 });
      await page
        .locator('tr[data-key="local/web-other"] td.status', { hasText: 'running' })
        .waitFor({ timeout: 20_000 });
      await shot(page, 'fleet');

      // A change made elsewhere (the CLI) shows up without a reload.
      const stopped = await sb().ralph(['stop', 'web-other']);
      expect(stopped.exitCode).toBe(0);
      await page
        .locator('tr[data-key="local/web-other"] td.status', { hasText: 'stopped' })
        .waitFor({ timeout: 20_000 });

      await row.locator('td.task a').click();
      await page.waitForFunction('location.hash.startsWith("#/loop/")');
      await expect.poll(() => terminalText(page), { timeout: 20_000 }).toContain('ECHO:READY');
      await page.locator('#keyboard').click();
      await page.locator('#keyboard[data-held="true"]').waitFor({ timeout: 10_000 });
      await page.locator('#terminal').click();
      await page.keyboard.type('hi');
      // Each key is its own message: the agent echoes them one by one (or together, if they arrive so).
      await expect.poll(() => terminalText(page), { timeout: 20_000 }).toMatch(/ECHO:"(h|hi)"/);
      await expect.poll(() => terminalText(page), { timeout: 20_000 }).toMatch(/ECHO:"(i|hi)"/);
      // Beside the terminal: the stories with pass marks and the iteration running.
      await expect.poll(() => page.locator('#stories li').count(), { timeout: 20_000 }).toBe(2);
      await expect.poll(() => page.locator('#iterations td').first().textContent()).toBe('1');
      await page.locator('#inject-text').fill('look at the tags table');
      await page.locator('button[data-action="inject"]').click();
      await page.locator('#loop-notice', { hasText: 'inject: done' }).waitFor({ timeout: 10_000 });
      await shot(page, 'terminal');

      // Stop from the fleet page.
      await page.locator('a', { hasText: 'fleet' }).first().click();
      page.once('dialog', (dialog) => void dialog.accept());
      await row.locator('button[data-action="stop"]').click();
      await page
        .locator('tr[data-key="local/web-browser"] td.status', { hasText: 'stopped' })
        .waitFor({ timeout: 20_000 });
      expect(sb().session('web-browser').status).toBe('stopped');
      await shot(page, 'stopped');

      // An ended loop whose agent spoke a stream format: its cost in the fleet, its transcript on its page.
      await sb().waitForSession('web-spent', (s) => s.status === 'exhausted', 'web-spent exhausted');
      const spent = page.locator('tr[data-key="local/web-spent"]');
      await spent.locator('td.cost', { hasText: '$0.0400' }).waitFor({ timeout: 20_000 });
      await spent.locator('td.task a').click();
      await page
        .locator('#transcript li.tool_call', { hasText: 'Bash' })
        .first()
        .waitFor({ timeout: 20_000 });
      await expect
        .poll(() => page.locator('#transcript li.result').last().textContent(), { timeout: 10_000 })
        .toContain('All 12 tests pass. The story is done.');
      // Ended: no live bytes, so the terminal shows the last screen rendered from the loop's log.
      await page
        .locator('#terminal-status', { hasText: 'has ended (exhausted' })
        .waitFor({ timeout: 10_000 });
      await expect.poll(() => terminalText(page), { timeout: 10_000 }).toContain('iteration 2/2');
      await shot(page, 'transcript');
    } finally {
      await context.close();
      await web.stop();
    }
  });
});
