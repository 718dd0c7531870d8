/**
 * One service's comparison for bench/ziti-sdk.mjs: connect time, echo RTT and echo throughput, ours and Go
 * taking turns (sample by sample, block by block, round by round) so that a change in machine load
 * affects both alike.
 */
import { nowMs, summarize } from './lib/common.mjs';
import { median } from './ziti-measure.mjs';

const SIDES = ['ours', 'go'];
const RTT_BLOCKS = 10;

/** Alternates which side goes first. */
function turns(i) {
  return i % 2 === 0 ? SIDES : [...SIDES].reverse();
}

function log(key, text) {
  process.stderr.write(`[${key}] ${text}\n`);
}

/**
 * How one side connects and measures: streamDriver() in ziti-measure.mjs for a Duplex opened in this process,
 * or the Go dialer process (ziti-go-dialer.mjs), which measures in its own process. Times are milliseconds.
 * @typedef {{
 *   connect(): Promise<number>,
 *   openLink(): Promise<void>,
 *   rtts(count: number, deadline: number): Promise<number[]>,
 *   closeLink(): Promise<void>,
 *   throughput(totalBytes: number, chunkBytes: number, timeoutMs: number): Promise<number>,
 * }} SideDriver
 */

/**
 * @param {string} key service key, for progress lines
 * @param {{ ours: SideDriver, go: SideDriver }} sides
 * @param {{ connects: number, warmup: number, rttSamples: number, rttCapMs: number, mib: number, rounds: number }} p
 */
export async function compareService(key, sides, p) {
  log(key, 'warming up ...');
  for (let i = 0; i < 3; i++) for (const side of SIDES) await sides[side].connect();

  log(key, `connect time, ${p.connects} connections each ...`);
  const connect = { ours: [], go: [] };
  const connectDeadline = nowMs() + 120_000;
  for (let i = 0; i < p.connects && nowMs() < connectDeadline; i++) {
    for (const side of turns(i)) connect[side].push(await sides[side].connect());
  }

  log(key, `echo RTT, ${p.warmup} warm-up + ${p.rttSamples} samples each ...`);
  const rtt = { ours: [], go: [] };
  const opened = [];
  try {
    for (const side of SIDES) {
      await sides[side].openLink();
      opened.push(side);
      await sides[side].rtts(p.warmup, nowMs() + 30_000);
    }
    const rttDeadline = nowMs() + 2 * p.rttCapMs;
    const perBlock = Math.ceil(p.rttSamples / RTT_BLOCKS);
    for (let block = 0; block < RTT_BLOCKS && nowMs() < rttDeadline; block++) {
      for (const side of turns(block)) rtt[side].push(...(await sides[side].rtts(perBlock, rttDeadline)));
    }
  } finally {
    for (const side of opened) await sides[side].closeLink();
  }

  log(key, `throughput, ${p.rounds} round(s) of ${p.mib} MiB each ...`);
  const throughput = { ours: [], go: [] };
  for (let round = 0; round < p.rounds; round++) {
    for (const side of turns(round)) {
      throughput[side].push(await sides[side].throughput(p.mib * 1024 * 1024, 64 * 1024, 120_000));
    }
  }

  const stats = (side) => ({
    connect: summarize(connect[side]),
    rtt: summarize(rtt[side]),
    throughputMiBps: throughput[side],
    throughputMedian: median(throughput[side]),
  });
  return { ours: stats('ours'), go: stats('go') };
}
