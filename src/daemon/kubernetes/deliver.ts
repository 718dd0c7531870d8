/**
 * Getting a loop's files into its pod without opening anything: the daemon packs them (the task folder and the
 * runner's prepared home) and streams the pack through the API server's exec into a one-line unpacker run by the
 * pod's own node, which writes them to the loop's data volume and, last, a marker file. The runner in the pod
 * waits for that marker (RALPH_AWAIT_FILE) before it reads anything of the loop.
 *
 * The pack is a sequence of entries, each a JSON header line (`path`, `type` dir|file|symlink, `mode`, and a
 * file's `size` or a symlink's `target`) followed, for a file, by exactly `size` bytes; a last header
 * `{"end":true,"entries":N}` closes it. Paths are relative, with no `..`; symlinks are made after every file,
 * so nothing is ever written through one.
 */
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

export interface PackSource {
  /** A folder on this machine. */
  from: string;
  /** Where its contents go, relative to the volume's root. */
  to: string;
}

export interface PackEntry {
  path: string;
  source: string;
  type: 'dir' | 'file' | 'symlink';
  mode: number;
  size: number;
  target?: string;
}

/** The entries of the sources, parents before children; sockets, FIFOs and devices are left out. */
export function packEntries(sources: readonly PackSource[]): PackEntry[] {
  const out: PackEntry[] = [];
  const walk = (source: string, path: string): void => {
    const st = lstatSync(source);
    const mode = st.mode & 0o777;
    if (st.isSymbolicLink()) {
      out.push({ path, source, type: 'symlink', mode, size: 0, target: readlinkSync(source) });
    } else if (st.isFile()) {
      out.push({ path, source, type: 'file', mode, size: st.size });
    } else if (st.isDirectory()) {
      out.push({ path, source, type: 'dir', mode: mode | 0o700, size: 0 });
      for (const name of readdirSync(source).sort()) walk(join(source, name), `${path}/${name}`);
    }
  };
  for (const { from, to } of sources) walk(from, to);
  return out;
}

/** The bytes of the files in a pack. */
export function packSize(entries: readonly PackEntry[]): number {
  return entries.reduce((sum, e) => sum + e.size, 0);
}

const CHUNK = 256 * 1024;

/**
 * Writes the pack to `out`, waiting whenever it is full. A file whose size changed since it was listed fails the
 * pack (the unpacker would misread everything after it).
 */
export async function writePack(entries: readonly PackEntry[], out: Writable): Promise<void> {
  const write = (chunk: Buffer | string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (out.destroyed) {
        reject(new Error('the stream into the pod closed'));
        return;
      }
      if (out.write(chunk)) resolve();
      else {
        const onDrain = (): void => {
          out.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          out.off('drain', onDrain);
          reject(new Error('the stream into the pod closed'));
        };
        out.once('drain', onDrain);
        out.once('close', onClose);
      }
    });
  const buffer = Buffer.alloc(CHUNK);
  for (const entry of entries) {
    const { source: _source, ...header } = entry;
    await write(`${JSON.stringify(header)}\n`);
    if (entry.type !== 'file') continue;
    const fd = openSync(entry.source, 'r');
    try {
      let left = entry.size;
      while (left > 0) {
        const n = readSync(fd, buffer, 0, Math.min(CHUNK, left), null);
        if (n === 0) throw new Error(`${entry.source} got shorter while it was being sent`);
        await write(Buffer.from(buffer.subarray(0, n)));
        left -= n;
      }
    } finally {
      closeSync(fd);
    }
  }
  await write(`${JSON.stringify({ end: true, entries: entries.length })}\n`);
}

/**
 * The unpacker, run as `node -e UNPACKER <root> <marker>`: reads a pack on stdin into `root`, then writes
 * `marker` and prints `ok <entries>`. Exits 4 with the reason on stderr for a bad pack; a marker already there
 * means an earlier delivery finished, and it prints `ok already`.
 */
export const UNPACKER = [
  "const fs=require('fs'),path=require('path');",
  'const root=path.resolve(process.argv[1]),marker=process.argv[2];',
  "if(fs.existsSync(marker)){process.stdout.write('ok already\\n');process.exit(0)}",
  'let buf=Buffer.alloc(0),fd=null,left=0,count=0,done=false;const links=[];',
  "const fail=m=>{process.stderr.write(m+'\\n');process.exit(4)};",
  "const safe=p=>{if(typeof p!=='string'||p===''||p.includes('\\0')||path.isAbsolute(p)||p.split('/').includes('..'))fail('bad path '+JSON.stringify(p));return path.join(root,p)};",
  'const entry=h=>{',
  "if(h.end===true){if(h.entries!==count)fail('the pack has '+count+' entries, its end says '+h.entries);",
  'for(const [to,target] of links)fs.symlinkSync(target,to);',
  "fs.writeFileSync(marker,String(count));process.stdout.write('ok '+count+'\\n');done=true;process.exit(0)}",
  'count++;const to=safe(h.path);const mode=Number.isInteger(h.mode)?h.mode&0o777:0o600;',
  "if(h.type==='dir')fs.mkdirSync(to,{recursive:true,mode});",
  "else if(h.type==='symlink'){if(typeof h.target!=='string')fail('bad symlink');links.push([to,h.target])}",
  "else if(h.type==='file'){if(!Number.isSafeInteger(h.size)||h.size<0)fail('bad size');",
  "fs.mkdirSync(path.dirname(to),{recursive:true});fd=fs.openSync(to,'w',mode);left=h.size;if(left===0){fs.closeSync(fd);fd=null}}",
  "else fail('bad entry type '+JSON.stringify(h.type))};",
  "process.stdin.on('data',c=>{buf=buf.length?Buffer.concat([buf,c]):c;",
  'while(buf.length>0&&!done){',
  'if(fd!==null){const n=Math.min(left,buf.length);fs.writeSync(fd,buf,0,n);left-=n;buf=buf.subarray(n);if(left===0){fs.closeSync(fd);fd=null}continue}',
  "const i=buf.indexOf(10);if(i<0){if(buf.length>65536)fail('a header line is too long');break}",
  "let h;try{h=JSON.parse(buf.subarray(0,i).toString('utf8'))}catch{fail('a header is not JSON')}",
  "if(typeof h!=='object'||h===null)fail('a header is not an object');buf=buf.subarray(i+1);entry(h)}});",
  "process.stdin.on('end',()=>{if(!done)fail('the pack ended early');process.exit(0)});",
].join('');
