/**
 * Which listening sockets a set of processes holds, read from /proc: each process's socket inodes
 * (/proc/<pid>/fd/* linking to `socket:[inode]`) against the socket tables of its network namespace
 * (/proc/<pid>/net/tcp, tcp6, udp, udp6). TCP sockets count when in state LISTEN (0A); UDP sockets count when
 * bound to a local port at all (UDP has no listen state; a bound socket receives datagrams). Linux only.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface ListeningSocket {
  pid: number;
  protocol: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  /** Local address as the kernel prints it, decoded: "127.0.0.1:43210" or "[::1]:43210". */
  local: string;
  inode: number;
}

/** The socket inodes a process holds open (empty when it is gone or not readable). */
export function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

function decodeIpv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

function decodeIpv6(hex: string): string {
  // Four 32-bit words, each in host (little-endian) byte order.
  const bytes: number[] = [];
  for (let w = 0; w < 4; w += 1) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b -= 1) bytes.push(Number.parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

function decodeAddress(field: string, v6: boolean): string {
  const [addr = '', port = '0'] = field.split(':');
  const p = Number.parseInt(port, 16);
  return v6 ? `[${decodeIpv6(addr)}]:${p}` : `${decodeIpv4(addr)}:${p}`;
}

interface TableRow {
  local: string;
  state: string;
  inode: number;
  port: number;
}

function readTable(pid: number, protocol: ListeningSocket['protocol']): TableRow[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/${protocol}`, 'utf8');
  } catch {
    return [];
  }
  const v6 = protocol.endsWith('6');
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length > 9)
    .map((cols) => ({
      local: decodeAddress(cols[1] ?? '', v6),
      port: Number.parseInt((cols[1] ?? '').split(':')[1] ?? '0', 16),
      state: cols[3] ?? '',
      inode: Number(cols[9]),
    }));
}

const TCP_LISTEN = '0A';

/** Every listening TCP socket and bound UDP socket held by any of `pids`. */
export function listeningSockets(pids: number[]): ListeningSocket[] {
  const found: ListeningSocket[] = [];
  for (const pid of pids) {
    const inodes = socketInodes(pid);
    if (inodes.size === 0) continue;
    for (const protocol of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
      for (const row of readTable(pid, protocol)) {
        if (!inodes.has(row.inode) || row.inode === 0) continue;
        const listening = protocol.startsWith('tcp') ? row.state === TCP_LISTEN : row.port !== 0;
        if (listening) found.push({ pid, protocol, local: row.local, inode: row.inode });
      }
    }
  }
  return found;
}

/** The pids of `pid`'s descendants (children, grandchildren, ...), from /proc/<pid>/task/<tid>/children. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < 10_000) {
    const next = queue.shift() as number;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${next}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${next}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(/\s+/).filter(Boolean).map(Number)) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}
