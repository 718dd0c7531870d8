/**
 * `ralph web`'s fleet: the JSON API and the WebSocket push, against real loops run by the fake agent. The
 * rows are the TUI's `Fleet` rows; a change (a stop asked for through the API) reaches an open socket
 * without the page asking again.
 */
import { describe, expect, it } from 'vitest';
import { useCliSandbox, waitFor } from '../cli/harness.js';
import { api, openSocket, signIn, startWeb } from './support.js';

const sb = useCliSandbox();

interface Row {
  id: number;
  task: string;
  location: string;
  status: string;
  paused: boolean;
  agent: string;
  link: { state: string };
  lastLine: string | null;
  stories: { total: number; passing: number } | null;
  usage: { tokens: number; costUsd: number | null } | null;
}

interface Transcript {
  iteration: number;
  format: string;
  omitted: number;
  entries: Array<{ kind: string; name?: string; text?: string }>;
}

const rowsOf = (m: Record<string, unknown>): Row[] => (m.rows as Row[] | undefined) ?? [];
const rowOf = (m: Record<string, unknown>, task: string): Row | undefined =>
  rowsOf(m).find((r) => r.task === task);

describe('ralph web: the fleet', () => {
  it('lists a running loop live, pushes pause, resume and stop to an open socket, and serves its detail', async () => {
    const task = sb().makeTask('web-fleet', {
      stories: 2,
      script: { steps: [{ print: 'FLEET line one' }, { print: 'FLEET line two' }, { hang: true }] },
    });
    const session = await sb().start(task);
    const web = await startWeb(sb());
    const cookie = await signIn(web);

    const listed = await waitFor(async () => {
      const { json } = await api(web, cookie, '/api/fleet');
      const row = rowOf(json, 'web-fleet');
      return row?.link.state === 'live' && row.lastLine === 'FLEET line two' ? row : null;
    }, 'the loop listed live with its last line');
    expect(listed).toMatchObject({ id: session.id, location: 'local', status: 'running', agent: 'custom' });
    expect(listed.stories).toEqual({ total: 2, passing: 0 });
    expect(listed).not.toHaveProperty('session');

    const socket = await openSocket(web.port!, { Origin: `http://127.0.0.1:${web.port}`, Cookie: cookie });
    if (!('opened' in socket)) throw new Error(`refused with ${socket.refused}`);
    const { messages } = socket;
    await messages.waitFor((m) => rowOf(m, 'web-fleet')?.status === 'running', 'the running row');

    const pause = await api(web, cookie, `/api/loops/${session.id}/pause`, {});
    expect(pause).toMatchObject({ status: 200, json: { ok: true, result: { status: 'paused' } } });
    const paused = await messages.waitFor((m) => rowOf(m, 'web-fleet')?.paused === true, 'the row paused');
    const pausedAt = messages.all.indexOf(paused);
    const resume = await api(web, cookie, `/api/loops/${session.id}/resume`, {});
    expect(resume.status).toBe(200);
    await messages.waitFor(
      (m) => messages.all.indexOf(m) > pausedAt && rowOf(m, 'web-fleet')?.paused === false,
      'the row running again',
    );

    const detail = await api(web, cookie, `/api/loops/${session.id}`);
    expect(detail.status).toBe(200);
    const d = detail.json.detail as { source: string; stories: unknown[]; iterations: unknown[] };
    expect(d.source).toBe('live');
    expect(d.stories).toHaveLength(2);
    expect(d.iterations.length).toBeGreaterThanOrEqual(1);

    const stop = await api(web, cookie, `/api/loops/${session.id}/stop`, {});
    expect(stop).toMatchObject({ status: 200, json: { ok: true, result: { status: 'stop_requested' } } });
    await messages.waitFor((m) => rowOf(m, 'web-fleet')?.status === 'stopped', 'the row stopped, pushed');
    expect(sb().session('web-fleet').status).toBe('stopped');

    const again = await api(web, cookie, `/api/loops/${session.id}/stop`, {});
    expect(again.status).toBeGreaterThanOrEqual(400);
    socket.opened.close();
    await web.stop();
  });

  it('refuses bad requests with a status and a code, and keeps serving', async () => {
    const task = sb().makeTask('web-bad', { script: { steps: [{ print: 'BAD running' }, { hang: true }] } });
    const session = await sb().start(task);
    const web = await startWeb(sb());
    const cookie = await signIn(web);
    const cases: [string, unknown, number, string][] = [
      [`/api/loops/${session.id}/add-iterations`, { count: 0 }, 400, 'BAD_PARAMS'],
      [`/api/loops/${session.id}/inject`, { text: '   ' }, 400, 'BAD_PARAMS'],
      [`/api/loops/${session.id}/explode`, {}, 404, 'NOT_FOUND'],
      ['/api/loops/999999/stop', {}, 404, 'NO_SUCH_LOOP'],
      [`/api/loops/${session.id}/stop`, [], 400, 'BAD_PARAMS'],
    ];
    for (const [path, body, status, code] of cases) {
      const reply = await api(web, cookie, path, body);
      expect(reply.status, path).toBe(status);
      expect((reply.json.error as { code: string }).code, path).toBe(code);
    }
    const more = await api(web, cookie, `/api/loops/${session.id}/add-iterations`, { count: 3 });
    expect(more.status).toBe(200);
    const injected = await api(web, cookie, `/api/loops/${session.id}/inject`, { text: 'look at the tags' });
    expect(injected).toMatchObject({ status: 200, json: { result: { status: 'prompt_injected' } } });
    expect((await api(web, cookie, '/api/fleet')).status).toBe(200);
    await web.stop();
  });

  it('shows what each loop spent, and the last transcript of a running and of an ended loop when asked', async () => {
    const claude = { replay: { file: 'claude-basic.ndjson', costUsd: 0.02 } };
    const ended = sb().makeTask('web-spent', { script: [claude] });
    const endedSession = await sb().start(ended, ['--stream-format', 'claude', '-n', '2']);
    const running = sb().makeTask('web-talking', {
      script: { steps: [{ replay: { file: 'claude-basic.ndjson', until: 'result' } }, { hang: true }] },
    });
    const runningSession = await sb().start(running, ['--stream-format', 'claude']);
    await sb().waitForSession('web-spent', (s) => s.status === 'exhausted', 'web-spent exhausted');
    const web = await startWeb(sb());
    const cookie = await signIn(web);

    const spent = await waitFor(async () => {
      const row = rowOf((await api(web, cookie, '/api/fleet')).json, 'web-spent');
      return row?.usage ? row : null;
    }, 'the ended loop listed with its usage');
    expect(spent.usage?.costUsd).toBeCloseTo(0.04, 10);
    expect(spent.usage?.tokens).toBeGreaterThan(0);
    // Running, before its agent's result line: tokens counted so far, no cost yet.
    const talking = await waitFor(async () => {
      const row = rowOf((await api(web, cookie, '/api/fleet')).json, 'web-talking');
      return row?.usage ? row : null;
    }, 'the running loop listed with its tokens so far');
    expect(talking.usage).toMatchObject({ costUsd: null });
    expect(talking.usage?.tokens).toBeGreaterThan(0);

    const plain = await api(web, cookie, `/api/loops/${endedSession.id}`);
    expect((plain.json.detail as { transcript: unknown }).transcript).toBeNull();
    const fromFiles = await api(web, cookie, `/api/loops/${endedSession.id}?transcript=1`);
    const detail = fromFiles.json.detail as { source: string; transcript: Transcript };
    expect(detail.source).toBe('files');
    expect(detail.transcript).toMatchObject({ iteration: 2, format: 'claude', omitted: 0 });
    expect(detail.transcript.entries).toContainEqual(
      expect.objectContaining({ kind: 'tool_call', name: 'Bash' }),
    );
    expect(detail.transcript.entries.at(-1)).toMatchObject({
      kind: 'result',
      text: 'All 12 tests pass. The story is done.',
    });

    // A running loop answers for itself (get_transcript): what the agent said so far in this iteration.
    const live = await waitFor(async () => {
      const got = await api(web, cookie, `/api/loops/${runningSession.id}?transcript=1`);
      const d = got.json.detail as { source: string; transcript: Transcript | null };
      return d.source === 'live' && d.transcript?.entries.some((e) => e.kind === 'tool_call') ? d : null;
    }, 'the running loop live with its transcript so far');
    expect(live.transcript).toMatchObject({ iteration: 1, format: 'claude' });
    expect(live.transcript?.entries.some((e) => e.kind === 'result')).toBe(false);
    await web.stop();
  });
});
